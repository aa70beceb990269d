/** Functional tensor ops that take several tensors: joining, choosing, and comparing. */
import { Tensor, op, opMany } from './tensor.js';

/** Joins tensors along an existing dimension. */
export function cat(tensors: Tensor[], dim = 0): Tensor { return op('aten::cat', '', [tensors.map((t) => t.handle), dim]); }
/** Stacks same-shaped tensors along a new dimension. */
export function stack(tensors: Tensor[], dim = 0): Tensor { return op('aten::stack', '', [tensors.map((t) => t.handle), dim]); }
/** Splits into chunks of `size` along `dim`. */
export function split(t: Tensor, size: number, dim = 0): Tensor[] { return opMany('aten::split', 'Tensor', [t.handle, size, dim]); }
/** Picks from `a` where `condition` is true, else from `b`. */
export function where(condition: Tensor, a: Tensor, b: Tensor): Tensor { return op('aten::where', 'self', [condition.handle, a.handle, b.handle]); }
/** Whether all elements are within rtol/atol (torch.allclose). */
export function allClose(a: Tensor, b: Tensor, rtol = 1e-5, atol = 1e-8): boolean {
  const result = op('aten::isclose', '', [a.handle, b.handle, rtol, atol, false]);
  const all = op('aten::all', '', [result.handle]);
  const value = all.item() !== 0;
  result.dispose(); all.dispose();
  return value;
}
/** Largest absolute elementwise difference. */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  const diff = a.sub(b); const abs = diff.abs(); const max = abs.max();
  const value = max.item();
  diff.dispose(); abs.dispose(); max.dispose();
  return value;
}
