import test from 'node:test';
import assert from 'node:assert/strict';
import { type DType, type Tensor, functional, inferenceMode, manualSeed, noGrad, op, randint, randn, tidy } from '../../src/tensor/index.js';

/** ATen's own max_pool2d (what PyTorch runs), bypassing Kestrel's 2x2 kernel. */
function atenPool(x: Tensor, ceil = false): Tensor {
  return op('aten::max_pool2d', '', [x.handle, [2, 2], [2, 2], [0, 0], [1, 1], ceil]);
}

/** Values, as numbers (NaN kept), of a tensor of any floating dtype. */
const values = (t: Tensor): number[] => Array.from(t.float().contiguous().toArray() as Float32Array);

/** Forward values and input gradients of `pool` on `x` (a leaf copy each), with upstream gradient `g`. */
function run(pool: (x: Tensor) => Tensor, x: Tensor, g: Tensor): { out: Tensor; grad: Tensor; strides: number[] } {
  const leaf = x.detach().clone().setRequiresGrad();
  const out = pool(leaf);
  out.mul(g).sum().backward();
  return { out, grad: leaf.grad!, strides: out.strides };
}

const CASES: { name: string; shape: number[]; dtype: DType; layout: 'contiguous' | 'channels-last'; ties?: boolean; nan?: boolean }[] = [
  { name: 'float32 NCHW', shape: [3, 5, 8, 6], dtype: 'float32', layout: 'contiguous' },
  { name: 'float32 channels-last', shape: [3, 5, 8, 6], dtype: 'float32', layout: 'channels-last' },
  { name: 'bfloat16 channels-last', shape: [4, 24, 28, 28], dtype: 'bfloat16', layout: 'channels-last' },
  { name: 'bfloat16 NCHW, odd sizes (floor)', shape: [2, 3, 7, 5], dtype: 'bfloat16', layout: 'contiguous' },
  { name: 'float64 channels-last, odd sizes', shape: [2, 4, 5, 9], dtype: 'float64', layout: 'channels-last' },
  { name: 'ties (values 0-2, as after ReLU)', shape: [2, 6, 10, 10], dtype: 'float32', layout: 'channels-last', ties: true },
  { name: 'bfloat16 ties', shape: [2, 6, 10, 10], dtype: 'bfloat16', layout: 'contiguous', ties: true },
  { name: 'NaN propagates', shape: [2, 3, 6, 6], dtype: 'float32', layout: 'channels-last', nan: true },
];

test('MaxPool2d(2) runs Kestrel\'s kernel: the same values, layout and gradients as ATen\'s max_pool2d (ties and NaN included)', () => {
  manualSeed(11);
  for (const c of CASES) {
    tidy(() => {
      let x = c.ties ? randint(0, 3, c.shape).to(c.dtype) : randn(c.shape).to(c.dtype);
      if (c.nan) x = op('aten::where', 'self', [x.gt(1.5).handle, op('aten::full_like', '', [x.handle, NaN, null, null, null, null, null]).handle, x.handle]);
      x = x.contiguous(c.layout);
      const g = randn([c.shape[0], c.shape[1], Math.floor(c.shape[2] / 2), Math.floor(c.shape[3] / 2)]).to(c.dtype);
      const ours = run((t) => functional.maxPool2d(t, 2), x, g);
      const aten = run((t) => atenPool(t), x, g);
      assert.deepEqual(ours.out.shape, aten.out.shape, c.name);
      assert.equal(ours.out.dtype, c.dtype, c.name);
      assert.deepEqual(ours.strides, aten.strides, `${c.name}: output layout`);
      assert.deepEqual(values(ours.out), values(aten.out), `${c.name}: values`);
      assert.deepEqual(values(ours.grad), values(aten.grad), `${c.name}: gradients (the first maximum of each window gets it)`);
      if (c.nan) assert.ok(values(ours.out).some(Number.isNaN), 'the NaN case has NaN windows');
      // Without autograd (no-grad and inference mode) the same values come from the values-only kernel.
      assert.deepEqual(values(noGrad(() => functional.maxPool2d(x, 2))), values(aten.out), `${c.name}: no-grad`);
      assert.deepEqual(values(inferenceMode(() => functional.maxPool2d(x, 2))), values(aten.out), `${c.name}: inference mode`);
    });
  }
});

test('pooling other than 2x2 with stride 2 (and ceil mode on odd sizes) stays with ATen, with its results', () => {
  manualSeed(12);
  tidy(() => {
    const x = randn([2, 3, 7, 7]);
    assert.deepEqual(values(functional.maxPool2d(x, 2, { ceilMode: true })), values(atenPool(x, true)));
    assert.deepEqual(functional.maxPool2d(x, 2, { ceilMode: true }).shape, [2, 3, 4, 4]);
    const even = randn([2, 3, 8, 8]);
    assert.deepEqual(values(functional.maxPool2d(even, 2, { ceilMode: true })), values(atenPool(even, true)));
    assert.deepEqual(functional.maxPool2d(x, 3, { stride: 2 }).shape, [2, 3, 3, 3]);
    assert.deepEqual(functional.maxPool2d(randn([3, 8, 8]), 2).shape, [3, 4, 4], 'unbatched input');
    assert.throws(() => functional.maxPool2d(randn([2, 3, 1, 1]), 2), /max_pool2d|Output size is too small/);
  });
});
