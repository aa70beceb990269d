/** Fetching a few items of a data source again by their position in its order (for pictures of them). */
import { type Tensor, dispose, keep, stack, tidy } from '../tensor/index.js';
import { type Batch, type BatchSource, DataLoader, ImageDataset, ImageLoader } from '../data/index.js';

/**
 * The items at `positions` of one pass over `source`, in the order asked. An unshuffled DataLoader gathers them
 * straight from its dataset; any other source is iterated once more, keeping only those rows.
 */
export async function fetchItems(source: BatchSource, positions: readonly number[]): Promise<Batch> {
  if (positions.length === 0) throw new Error('fetchItems: no items asked for');
  if (source instanceof DataLoader && !source.shuffle) return source.dataset.getBatch(Int32Array.from(positions));
  // NOTE: a shuffled source has no stable positions; interpret validation data (unshuffled) instead.
  if ((source as { shuffle?: boolean }).shuffle === true) throw new Error('fetchItems: the source is shuffled, so positions do not name items; use an unshuffled loader');
  const wanted = new Map<number, number[]>();
  positions.forEach((p, k) => wanted.set(p, [...(wanted.get(p) ?? []), k]));
  const last = Math.max(...positions);
  const xs: Tensor[] = new Array(positions.length);
  const ys: Tensor[] = new Array(positions.length);
  let start = 0;
  try {
    for await (const batch of source) {
      try {
        const n = batch.y.shape[0];
        for (let j = 0; j < n; j++) {
          for (const k of wanted.get(start + j) ?? []) {
            xs[k] = keep(tidy(() => batch.x.select(0, j).clone()));
            ys[k] = keep(tidy(() => batch.y.select(0, j).clone()));
          }
        }
        start += n;
      } finally {
        dispose(batch);
      }
      if (start > last) break;
    }
    const missing = positions.filter((_, k) => xs[k] === undefined);
    if (missing.length) throw new Error(`fetchItems: the source has ${start} items; ${missing[0]} is out of range`);
    return tidy(() => ({ x: stack(xs), y: stack(ys) }));
  } finally {
    dispose(xs.filter(Boolean));
    dispose(ys.filter(Boolean));
  }
}

/** Names of items for captions: file names for an unshuffled image-folder loader that skipped nothing, else '#position'. */
export function itemNames(source: BatchSource, positions: readonly number[]): string[] {
  const loader = source as Partial<ImageLoader>;
  const files = source instanceof ImageLoader && loader.dataset instanceof ImageDataset && loader.skipped?.size === 0 ? loader.dataset.items : undefined;
  return positions.map((p) => files?.[p]?.file ?? `#${p}`);
}
