/** Moving batches to the Learner's device: page-locked (pinned) host copies, then asynchronous host-to-GPU copies. */
import { type Tensor, dtypeCode, op } from '../tensor/index.js';
import type { Batch } from '../data/index.js';

/** A copy of a CPU tensor on a CUDA `device`, staged through pinned memory so the copy runs asynchronously. */
export function toDeviceAsync(t: Tensor, device: string): Tensor {
  const pinned = op('aten::pin_memory', '', [t.handle, null]);
  try {
    // NOTE: non_blocking: the copy is queued on the current stream and overlaps with the GPU work already queued;
    // freeing `pinned` right after is safe, the caching host allocator keeps the block until the copy has run.
    return op('aten::to', 'device', [pinned.handle, device, dtypeCode(t.dtype), true, false, null]);
  } finally {
    pinned.dispose();
  }
}

/** `batch` on `device` (the same object on 'cpu'); the CPU batch is disposed once copied. */
export function batchToDevice(batch: Batch, device: string): Batch {
  if (device === 'cpu') return batch;
  try {
    return { x: toDeviceAsync(batch.x, device), y: toDeviceAsync(batch.y, device) };
  } finally {
    batch.x.dispose();
    batch.y.dispose();
  }
}
