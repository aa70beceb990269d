import test from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, dispose, keep, memory, ones, randn, tensor, tidy, zeros } from '../../src/tensor/index.js';
import { errorMessage } from './parity.js';

const live = () => memory().liveTensors;

test('tidy frees every intermediate and keeps the returned tensor', () => {
  const before = live();
  const bytesBefore = memory().inUseBytes;
  const result = tidy(() => {
    const a = randn([256, 256]);
    const b = a.matmul(a).relu().add(1);
    return b.sum();
  });
  assert.equal(live(), before + 1, 'only the returned tensor is left');
  assert.equal(result.isDisposed, false);
  assert.ok(Number.isFinite(result.item()));
  result.dispose();
  assert.equal(live(), before);
  assert.equal(memory().inUseBytes, bytesBefore, 'allocator bytes back to baseline');
});

test('returned tensors move to the enclosing scope (also inside arrays and objects)', () => {
  const before = live();
  let inner: Tensor | undefined;
  let nested: { pair: Tensor[]; named: { t: Tensor } } | undefined;
  tidy(() => {
    inner = tidy(() => ones([2]).mul(3));
    nested = tidy(() => ({ pair: [zeros([1]), ones([1])], named: { t: tensor([5]) } }));
    assert.equal(inner.isDisposed, false, 'alive after the inner scope');
    assert.deepEqual(inner.toList(), [3, 3]);
    assert.equal(nested.named.t.item(), 5);
    assert.equal(nested.pair[1].item(), 1);
  });
  assert.equal(inner!.isDisposed, true, 'freed by the outer scope, which did not return it');
  assert.equal(nested!.pair[0].isDisposed, true);
  assert.equal(nested!.named.t.isDisposed, true);
  assert.equal(live(), before);
});

test('keep() escapes every scope until disposed', () => {
  const before = live();
  let kept: Tensor | undefined;
  tidy(() => tidy(() => { kept = keep(ones([3])); zeros([3]); }));
  assert.equal(kept!.isDisposed, false, 'the kept tensor survives both scopes');
  assert.equal(live(), before + 1);
  assert.deepEqual(kept!.toList(), [1, 1, 1]);
  dispose(kept);
  assert.equal(live(), before);
});

test('dispose() walks arrays and plain objects, and tolerates repeats and non-tensors', () => {
  const before = live();
  const a = ones([2]); const b = zeros([2]); const c = randn([2]); const d = randn([1]);
  assert.equal(live(), before + 4);
  dispose({ list: [a, [b]], deep: { c }, other: 3, text: 'x', nothing: null });
  assert.equal(live(), before + 1);
  assert.ok(a.isDisposed && b.isDisposed && c.isDisposed);
  dispose([a, d, undefined, 7]);
  a.dispose();
  assert.equal(live(), before);
});

test('using a disposed tensor throws "tensor used after dispose"', () => {
  const t = randn([2, 2]);
  const other = ones([2, 2]);
  t.dispose();
  assert.equal(t.isDisposed, true);
  assert.equal(String(t), 'Tensor(disposed)');
  for (const use of [() => t.add(1), () => other.add(t), () => t.toArray(), () => t.item(), () => t.handle, () => t.grad, () => t.dtype]) {
    assert.match(errorMessage(use), /tensor used after dispose/);
  }
  other.dispose();
});

test('a throwing tidy frees its tensors and rethrows; async functions are refused', () => {
  const before = live();
  assert.throws(() => tidy(() => { ones([4]); randn([4]).matmul(randn([5])); }), /inconsistent tensor size|1D tensors expected|size/);
  assert.equal(live(), before);
  assert.throws(() => tidy((async () => ones([1])) as never), /synchronous/);
  assert.equal(live(), before, 'the tensors an async function made before its first await are freed too');
});

test('gradients read inside tidy are freed with it', () => {
  const x = tensor([1, 2, 3], { requiresGrad: true });
  const before = live();
  tidy(() => {
    x.square().sum().backward();
    assert.deepEqual(x.grad!.toList(), [2, 4, 6]);
    assert.deepEqual(x.grad!.toList(), [2, 4, 6]);
  });
  assert.equal(live(), before, 'each .grad read is a handle freed by the scope; the gradient itself stays on x');
  assert.ok(tidy(() => x.grad!.sum().item()) === 12);
  x.dispose();
});

test('creation calls that fail leave no tensor behind', () => {
  const before = live();
  assert.throws(() => tensor([1, 2], { dtype: 'int64', requiresGrad: true }), /Only Tensors of floating point/);
  assert.throws(() => zeros([2], { dtype: 'int64', requiresGrad: true }), /Only Tensors of floating point/);
  assert.throws(() => tensor([1, 2], { device: 'cuda:7' }));
  assert.equal(live(), before);
});
