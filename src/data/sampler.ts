/** Data-parallel sharding: which samples of an epoch's order one process reads (torch's DistributedSampler split). */

/** One process's share of every epoch in data-parallel training. */
export interface Shard {
  /** This process's rank, 0 <= rank < worldSize. */
  rank: number;
  /** Number of processes sharing the data. */
  worldSize: number;
  /**
   * Repeat samples from the start of the order so every rank reads the same number (default true, like
   * DistributedSampler; training needs it, since every rank must take the same number of steps). False gives rank r
   * the samples r, r + worldSize, ... only, so every sample is read exactly once (exact validation metrics).
   */
  pad?: boolean;
  /** Drop the tail of the order instead of padding, to a multiple of worldSize (DistributedSampler's drop_last). */
  dropLast?: boolean;
}

/** Checks a shard's numbers; `where` names the caller in the error. */
export function checkShard(shard: Shard, where: string): Shard {
  const { rank, worldSize } = shard;
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new Error(`${where}: shard worldSize must be a positive integer, got ${String(worldSize)}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new Error(`${where}: shard rank must be an integer in [0, ${worldSize - 1}], got ${String(rank)}`);
  return shard;
}

/** Samples per epoch that `shard` reads out of `n` (DistributedSampler's num_samples; exact count when pad is false). */
export function shardLength(n: number, shard: Shard): number {
  const { rank, worldSize } = shard;
  if (shard.dropLast) return n % worldSize !== 0 ? Math.max(0, Math.ceil((n - worldSize) / worldSize)) : n / worldSize;
  if (shard.pad === false) return Math.max(0, Math.ceil((n - rank) / worldSize));
  return Math.ceil(n / worldSize);
}

/**
 * This rank's samples of an epoch's `order`, following torch.utils.data.DistributedSampler: the order is padded to a
 * multiple of worldSize by repeating its start (or cut, with dropLast), then rank r takes positions r, r + worldSize,
 * ... Every rank computes the same order from the same seed and epoch, so the shards are disjoint (apart from the
 * padding) and together cover the epoch; with the loader's batch size B, step k of all ranks together is the batch of
 * size B * worldSize that one process would read at step k.
 */
export function shardOrder(order: Int32Array, shard: Shard): Int32Array {
  const { rank, worldSize } = shard;
  const count = shardLength(order.length, shard);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const position = rank + i * worldSize;
    // NOTE: position >= length only when padding; DistributedSampler pads with the order repeated from its start.
    out[i] = order[position % order.length];
  }
  return out;
}
