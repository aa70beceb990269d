import test from 'node:test';
import assert from 'node:assert/strict';
import {
  autocast, bf16Support, enableGrad, functional, inferenceMode, isAutocastEnabled, isGradEnabled, randn, tidy,
} from '../../src/tensor/index.js';

const skipBf16 = bf16Support().available ? undefined : `bfloat16 unsupported here: ${bf16Support().reason}`;

test('autocast runs convolutions and matmuls in bfloat16 inside the region only, and restores state after errors', { skip: skipBf16 }, () => {
  tidy(() => {
    const x = randn([2, 3, 5, 5]);
    const w = randn([4, 3, 3, 3]);
    assert.equal(isAutocastEnabled(), false);
    const inside = autocast(() => {
      assert.equal(isAutocastEnabled(), true);
      // nested regions keep it on; enabled: false turns it off locally
      autocast(() => assert.equal(functional.conv2d(x, w).dtype, 'bfloat16'));
      assert.equal(autocast(() => functional.conv2d(x, w), { enabled: false }).dtype, 'float32');
      return { conv: functional.conv2d(x, w), matmul: x.reshape(2, 75).matmul(randn([75, 4])), add: x.add(1) };
    });
    assert.equal(inside.conv.dtype, 'bfloat16');
    assert.equal(inside.matmul.dtype, 'bfloat16');
    assert.equal(inside.add.dtype, 'float32', 'elementwise ops keep their input type');
    assert.equal(functional.conv2d(x, w).dtype, 'float32', 'off again after the region');
    assert.throws(() => autocast(() => { throw new Error('boom'); }), /boom/);
    assert.equal(isAutocastEnabled(), false);
    assert.equal(functional.conv2d(x, w).dtype, 'float32', 'an error inside leaves autocast off');
  });
});

test('autocast errors: float16 on CPU, unknown device, async functions', () => {
  assert.throws(() => autocast(() => 0, { dtype: 'float16' }), /CPU autocast runs in bfloat16 only/);
  assert.throws(() => autocast(() => 0, { device: 'tpu' as 'cpu' }), /device must be 'cpu' or 'cuda', got 'tpu'/);
  assert.throws(() => autocast(async () => 0), /synchronous function/);
  assert.equal(isAutocastEnabled(), false);
});

test('bf16Support: needs CPU bf16 instructions and oneDNN; KESTREL_BF16=0 turns it off', () => {
  const none = bf16Support({ cpuFlags: ['sse2', 'avx2', 'avx512f'], mkldnn: true, kernels: true });
  assert.equal(none.available, false);
  assert.match(none.reason, /no native bfloat16 instructions/);
  const noOneDnn = bf16Support({ cpuFlags: ['avx512_bf16'], mkldnn: false, kernels: true });
  assert.equal(noOneDnn.available, false);
  assert.match(noOneDnn.reason, /without oneDNN/);
  const broken = bf16Support({ cpuFlags: ['amx_bf16'], mkldnn: true, kernels: false });
  assert.equal(broken.available, false);
  assert.match(broken.reason, /self-test/);
  const amx = bf16Support({ cpuFlags: ['amx_tile', 'amx_bf16'], mkldnn: true, kernels: true });
  assert.deepEqual([amx.available, amx.cpuFeatures], [true, ['amx_bf16']]);
  const previous = process.env.KESTREL_BF16;
  process.env.KESTREL_BF16 = '0';
  try {
    const off = bf16Support({ cpuFlags: ['avx512_bf16'], mkldnn: true, kernels: true });
    assert.deepEqual([off.available, off.reason], [false, 'bfloat16 is turned off by KESTREL_BF16=0']);
  } finally {
    if (previous === undefined) delete process.env.KESTREL_BF16; else process.env.KESTREL_BF16 = previous;
  }
});

test('inferenceMode: no autograd graph, inference tensors, guard released after errors', () => {
  tidy(() => {
    const w = randn([3, 3]).setRequiresGrad();
    const y = inferenceMode(() => w.matmul(w).relu());
    assert.equal(y.requiresGrad, false, 'no graph although the weight requires grad');
    assert.equal(y.isInference, true);
    assert.equal(w.matmul(w).requiresGrad, true, 'recording is back on after the region');
    assert.equal(y.clone().isInference, false, 'a clone outside is a normal tensor');
    assert.throws(() => inferenceMode(() => { throw new Error('inside'); }), /inside/);
    assert.equal(w.mul(2).isInference, false, 'an error inside leaves inference mode');
    assert.throws(() => inferenceMode(async () => 0), /synchronous function/);
    assert.equal(enableGrad(() => isGradEnabled()), true);
  });
});

test('channels-last layout and version counters', () => {
  tidy(() => {
    const x = randn([2, 3, 4, 5]);
    const cl = x.contiguous('channels-last');
    assert.deepEqual([x.isChannelsLast, cl.isChannelsLast, cl.isContiguous], [false, true, false]);
    assert.deepEqual(cl.shape, [2, 3, 4, 5]);
    assert.deepEqual(cl.strides, [60, 1, 15, 3]);
    assert.deepEqual(Array.from(cl.contiguous().toArray() as Float32Array), Array.from(x.toArray() as Float32Array));
    assert.throws(() => x.contiguous('nhwc' as 'channels-last'), /memory format must be 'contiguous' or 'channels-last', got 'nhwc'/);
    const v = x.version;
    x.add_(1);
    assert.equal(x.version, v + 1, 'an in-place change bumps the version');
  });
});
