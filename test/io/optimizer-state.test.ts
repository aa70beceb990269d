import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { type Tensor, dispose, memory, tensor, tidy, zeros } from '../../src/tensor/index.js';
import { OPTIMIZER_FORMAT, loadOptimizerState, loadSafetensors, saveOptimizerState, saveSafetensors } from '../../src/io/index.js';
import { rawBytes, tempDir } from './util.js';

test('optimizer state round-trips tensors and meta (including non-finite numbers)', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'optimizer.safetensors');
    const tensors = new Map<string, Tensor>([
      ['state.0.exp_avg', tensor([[0.1, -0.2], [0.3, 0.4]])],
      ['state.0.exp_avg_sq', tensor([1e-8, 2e-8])],
      ['state.0.step', tensor(new BigInt64Array([7n]), [])],
      ['state.1.momentum_buffer', zeros([0])],
    ]);
    const meta = {
      type: 'AdamW', groups: [{ lr: 1e-3, betas: [0.9, 0.999], weightDecay: 0.01, params: [0, 1] }],
      scheduler: { best: Infinity, worst: -Infinity, last: NaN, epoch: 3, name: 'plateau', none: null },
    };
    const before = memory().liveTensors;
    saveOptimizerState(path, { tensors, meta });
    assert.equal(memory().liveTensors, before);
    const loaded = loadOptimizerState(path);
    assert.equal(memory().liveTensors, before + tensors.size);
    assert.deepEqual(loaded.meta, meta);
    assert.deepEqual([...loaded.tensors.keys()].sort(), [...tensors.keys()].sort());
    for (const [name, t] of tensors) {
      const back = loaded.tensors.get(name)!;
      assert.equal(back.dtype, t.dtype, name);
      assert.deepEqual(back.shape, t.shape, name);
      assert.ok(rawBytes(back).equals(rawBytes(t)), name);
    }
    const raw = tidy(() => loadSafetensors(path).metadata);
    assert.equal(raw.format, OPTIMIZER_FORMAT);
    assert.equal(typeof JSON.parse(raw.meta), 'object', 'meta is one JSON string in __metadata__');
    dispose([...loaded.tensors.values(), ...tensors.values()]);
    assert.equal(memory().liveTensors, before - tensors.size);
  } finally { cleanup(); }
});

test('optimizer state errors are clear and leak nothing', () => {
  const { dir, cleanup } = tempDir();
  try {
    const plain = join(dir, 'plain.safetensors');
    tidy(() => saveSafetensors(plain, { w: tensor([1, 2]) }, { format: 'pt' }));
    const before = memory().liveTensors;
    assert.throws(() => loadOptimizerState(plain), new RegExp(`'${plain}' is not a Kestrel optimizer state file`));
    const broken = join(dir, 'broken.safetensors');
    tidy(() => saveSafetensors(broken, { w: tensor([1]) }, { format: OPTIMIZER_FORMAT, meta: '{"lr": ' }));
    assert.throws(() => loadOptimizerState(broken), new RegExp(`optimizer state '${broken}': meta is not valid JSON`));
    assert.equal(memory().liveTensors, before);
    assert.throws(() => saveOptimizerState(join(dir, 'x'), { tensors: {} as Map<string, Tensor>, meta: {} }), /expected \{ tensors: Map, meta: object \}/);
    assert.throws(() => saveOptimizerState(join(dir, 'x'), { tensors: new Map(), meta: { step: 3n } }), /meta 'step' is a bigint/);
    assert.throws(() => loadOptimizerState(join(dir, 'missing.safetensors')), /cannot read safetensors file .*missing.safetensors/);
  } finally { cleanup(); }
});
