import test from 'node:test';
import assert from 'node:assert/strict';
import {
  type DType, type Tensor, arange, empty, eye, full, getRngState, linspace, manualSeed, ones, onesLike, rand, randint, randn,
  randperm, scalar, setRngState, tensor, tidy, zeros, zerosLike,
} from '../../src/tensor/index.js';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { type Case, assertAllClose, checkCases, errorMessage } from './parity.js';

test('arange/linspace/eye/full/zeros/ones match PyTorch values and dtypes', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    const base = tensor([[1, 2, 3], [4, 5, 6]]);
    const cases: Case[] = [
      ['arange_end', () => arange(5), 'torch.arange(5)'],
      ['arange_step', () => arange(2, 10, 3), 'torch.arange(2, 10, 3)'],
      ['arange_negative_step', () => arange(5, 0, -1), 'torch.arange(5, 0, -1)'],
      ['arange_float_step', () => arange(0, 1, 0.1), 'torch.arange(0, 1, 0.1)'],
      ['arange_float_start', () => arange(1.5, 4), 'torch.arange(1.5, 4)'],
      ['arange_dtype', () => arange(0, 6, 1, { dtype: 'float64' }), 'torch.arange(0, 6, 1, dtype=torch.float64)'],
      ['linspace', () => linspace(0, 1, 5), 'torch.linspace(0, 1, 5)'],
      ['linspace_f64', () => linspace(-2, 2, 7, { dtype: 'float64' }), 'torch.linspace(-2, 2, 7, dtype=torch.float64)'],
      ['linspace_one', () => linspace(3, 9, 1), 'torch.linspace(3, 9, 1)'],
      ['eye', () => eye(3), 'torch.eye(3)'],
      ['eye_int', () => eye(4, { dtype: 'int64' }), 'torch.eye(4, dtype=torch.int64)'],
      ['full', () => full([2, 3], 7.5), 'torch.full((2, 3), 7.5)'],
      ['full_int32', () => full([2], -3, { dtype: 'int32' }), 'torch.full((2,), -3, dtype=torch.int32)'],
      ['full_bool', () => full([3], 1, { dtype: 'bool' }), 'torch.full((3,), True)'],
      ['zeros', () => zeros([2, 0, 3]), 'torch.zeros(2, 0, 3)'],
      ['zeros_u8', () => zeros([4], { dtype: 'uint8' }), 'torch.zeros(4, dtype=torch.uint8)'],
      ['ones', () => ones([3, 1]), 'torch.ones(3, 1)'],
      ['ones_f64', () => ones([2], { dtype: 'float64' }), 'torch.ones(2, dtype=torch.float64)'],
      ['zeros_like', () => zerosLike(base), 'torch.zeros(2, 3)'],
      ['ones_like', () => onesLike(base), 'torch.ones(2, 3)'],
      ['scalar', () => scalar(2.5), 'torch.tensor(2.5)'],
      ['scalar_int', () => scalar(-4, { dtype: 'int64' }), 'torch.tensor(-4)'],
      ['nested', () => tensor([[1.5, 2], [3, 4]]), 'torch.tensor([[1.5, 2], [3, 4]])'],
      ['nested_int', () => tensor([[1, 2], [3, 4]], { dtype: 'int64' }), 'torch.tensor([[1, 2], [3, 4]])'],
      ['nested_bool', () => tensor([[true, false], [false, true]]), 'torch.tensor([[True, False], [False, True]])'],
    ];
    checkCases(cases, {}, '', { rtol: 0, atol: 0 });
    assert.deepEqual(empty([2, 3]).shape, [2, 3]);
    for (const make of [() => empty([2], { requiresGrad: true }), () => arange(0, 1, 0.5, { requiresGrad: true }), () => linspace(0, 1, 3, { requiresGrad: true }),
      () => eye(2, { requiresGrad: true }), () => zeros([1], { requiresGrad: true }), () => full([1], 2, { requiresGrad: true }), () => tensor([1], { requiresGrad: true })]) {
      assert.equal(make().requiresGrad, true, `requiresGrad honoured by ${make.toString().slice(6, 30)}`);
    }
    assert.match(errorMessage(() => arange(3, undefined, 1, { requiresGrad: true })), /Only Tensors of floating point and complex dtype can require gradients/);
  });
});

test('seeded rand/randn/randint/randperm/uniform_/normal_ reproduce torch.manual_seed exactly', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    manualSeed(2024);
    const ours: Record<string, Tensor> = {
      rand: rand([3, 5]), randn: randn([7]), randint: randint(-3, 9, [2, 6]), randperm: randperm(10),
      uniform: empty([4]).uniform_(-2, 3), normal: empty([2, 2]).normal_(1, 0.5), randn_big: randn([1000]),
    };
    const state = getRngState();
    const next = rand([3]);
    setRngState(state);
    assert.deepEqual(Array.from(rand([3]).toArray() as Float32Array), Array.from(next.toArray() as Float32Array), 'restoring the RNG state repeats draws');
    const ref = runTorch(`
      torch.manual_seed(2024)
      out['rand'] = torch.rand(3, 5)
      out['randn'] = torch.randn(7)
      out['randint'] = torch.randint(-3, 9, (2, 6))
      out['randperm'] = torch.randperm(10)
      out['uniform'] = torch.empty(4).uniform_(-2, 3)
      out['normal'] = torch.empty(2, 2).normal_(1, 0.5)
      out['randn_big'] = torch.randn(1000)
    `);
    assertAllClose(ours, ref, { rtol: 0, atol: 0 });
  });
});

test('dtype conversions match PyTorch (truncation, bool, promotion)', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    const x = { f: tensor([-2.7, -1.5, -0.2, 0, 0.2, 1.5, 2.7, 100.9]), i: tensor([-3, 0, 1, 255], { dtype: 'int64' }) };
    const { f, i } = x;
    const cases: Case[] = [
      ['f_to_int64', () => f.to('int64'), 'f.to(torch.int64)'],
      ['f_long', () => f.long(), 'f.long()'],
      ['f_to_int32', () => f.to('int32'), 'f.to(torch.int32)'],
      ['f_abs_to_uint8', () => f.abs().to('uint8'), 'f.abs().to(torch.uint8)'],
      ['f_to_bool', () => f.to('bool'), 'f.to(torch.bool)'],
      ['f_to_f64', () => f.to('float64'), 'f.to(torch.float64)'],
      ['f_to_f32_noop', () => f.to('float32'), 'f.to(torch.float32)'],
      ['i_float', () => i.float(), 'i.float()'],
      ['i_to_bool', () => i.to('bool'), 'i.to(torch.bool)'],
      ['i_to_f64', () => i.to('float64'), 'i.to(torch.float64)'],
      ['bool_to_float', () => f.gt(0).float(), '(f > 0).float()'],
      ['bool_to_long', () => f.gt(0).long(), '(f > 0).long()'],
    ];
    checkCases(cases, x, "f, i = inp['f'], inp['i']", { rtol: 0, atol: 0 });
  });
});

// Edge values for every dtype Kestrel supports, in typed arrays.
const EDGES: Record<'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool', ArrayBufferView> = {
  float32: new Float32Array([0, -0, 1.5, -3.25e-5, 3.4e38, 1e-45, Infinity, -Infinity, NaN]),
  float64: new Float64Array([0, 1 / 3, -1e-300, 1.7976931348623157e308, 5e-324, NaN, Math.PI]),
  int64: new BigInt64Array([0n, -1n, 9007199254740993n, -9223372036854775808n, 9223372036854775807n]),
  int32: new Int32Array([0, -1, 2147483647, -2147483648, 123456789]),
  uint8: new Uint8Array([0, 1, 127, 128, 255]),
  bool: new Uint8Array([1, 0, 0, 1, 1]),
};
const PY_EDGES = `
  inf, nan = float('inf'), float('nan')
  ref = {
    'float32': torch.tensor([0, -0.0, 1.5, -3.25e-5, 3.4e38, 1e-45, inf, -inf, nan], dtype=torch.float32),
    'float64': torch.tensor([0, 1 / 3, -1e-300, 1.7976931348623157e308, 5e-324, nan, 3.141592653589793], dtype=torch.float64),
    'int64': torch.tensor([0, -1, 9007199254740993, -9223372036854775808, 9223372036854775807], dtype=torch.int64),
    'int32': torch.tensor([0, -1, 2147483647, -2147483648, 123456789], dtype=torch.int32),
    'uint8': torch.tensor([0, 1, 127, 128, 255], dtype=torch.uint8),
    'bool': torch.tensor([True, False, False, True, True]),
  }
  for k, v in ref.items():
      out['echo_' + k] = inp[k].clone()
      out['ref_' + k] = v
      same = (inp[k] == v) | (inp[k].isnan() & v.isnan()) if v.is_floating_point() else inp[k] == v
      out['same_' + k] = same.all()
`;

function bytesOf(view: ArrayBufferView): number[] {
  return Array.from(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
}

test('typed arrays round-trip bit-exactly through Kestrel and PyTorch for every dtype', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    const inputs: Record<string, Tensor> = {};
    for (const [dtype, data] of Object.entries(EDGES)) {
      const t = tensor(data, dtype === 'bool' ? { dtype: 'bool' } : {});
      assert.equal(t.dtype, dtype);
      assert.deepEqual(t.shape, [(data as Uint8Array).length]);
      assert.deepEqual(bytesOf(t.toArray() as ArrayBufferView), bytesOf(data), `${dtype} survives tensor() -> toArray()`);
      inputs[dtype] = t;
    }
    const ref = runTorch(PY_EDGES, inputs);
    for (const dtype of Object.keys(EDGES) as DType[]) {
      assert.equal(ref[`same_${dtype}`].item(), 1, `PyTorch reads Kestrel's ${dtype} bytes as the same values`);
      for (const kind of ['echo', 'ref']) {
        const back = ref[`${kind}_${dtype}`];
        assert.equal(back.dtype, dtype);
        assert.deepEqual(bytesOf(back.toArray() as ArrayBufferView), bytesOf(EDGES[dtype as keyof typeof EDGES]), `${kind} ${dtype} from PyTorch`);
      }
    }
  });
});

test('tensor() from typed arrays: views, conversions, bool normalisation, errors', () => {
  tidy(() => {
    const backing = new Float32Array([9, 1, 2, 3, 4, 9]);
    const view = tensor(backing.subarray(1, 5), [2, 2]);
    assert.deepEqual(view.toList(), [[1, 2], [3, 4]], 'a subarray with a byte offset copies just its elements');
    backing[1] = 100;
    assert.equal(view.toList() instanceof Array && (view.toList() as number[][])[0][0], 1, 'the tensor owns a copy');
    assert.deepEqual(tensor(new BigInt64Array([1n, -2n, 3n]), { dtype: 'float32' }).toList(), [1, -2, 3], 'int64 data converts to float');
    assert.deepEqual(tensor(new Float64Array([1.9, -1.9]), { dtype: 'int64' }).toArray(), new BigInt64Array([1n, -1n]));
    assert.deepEqual(tensor(new Int32Array([7, 8]), { dtype: 'float64' }).toArray(), new Float64Array([7, 8]));
    const flags = tensor(new Uint8Array([0, 2, 1, 255]), { dtype: 'bool' });
    assert.deepEqual(Array.from(flags.toArray() as Uint8Array), [0, 1, 1, 1], 'non-zero bytes become true');
    assert.deepEqual(flags.eq(full([4], 1, { dtype: 'bool' })).toList(), [0, 1, 1, 1]);
    assert.equal(tensor(new Uint8Array([3])).dtype, 'uint8');
    assert.match(errorMessage(() => tensor(new Float32Array(5), [2, 2])), /shape \[2, 2\] needs 4 values but the array has 5/);
    assert.match(errorMessage(() => tensor([[1, 2], [3]])), /ragged nested array/);
    assert.match(errorMessage(() => tensor([1, [2]] as never)), /ragged nested array/);
  });
});

test('toList/item/toString describe tensors', () => {
  tidy(() => {
    const t = arange(6).reshape(2, 3);
    assert.deepEqual(t.toList(), [[0, 1, 2], [3, 4, 5]]);
    assert.equal(scalar(3.5).toList(), 3.5);
    assert.equal(scalar(3.5).item(), 3.5);
    assert.equal(tensor([7], { dtype: 'int64' }).item(), 7);
    assert.equal(String(t), 'Tensor(int64, [2, 3])');
    assert.equal(t.size, 6);
    assert.equal(t.rank, 2);
    assert.equal(t.device, 'cpu');
    assert.match(errorMessage(() => t.item()), /a Tensor with 6 elements cannot be converted to Scalar/);
  });
});
