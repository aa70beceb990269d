/** Reads Fashion-MNIST's gzipped IDX files into Kestrel tensors (images normalised like the Python side). */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { type Tensor, emptyCache, noGrad, op, tensor } from '../src/tensor/index.js';

/** Where Debian's dataset-fashion-mnist package puts the files. */
export const FASHION_DIR = process.env.KESTREL_FASHION_DIR ?? '/usr/share/datasets/fashion-mnist';
/** Normalisation shared with bench/mnist.py. */
export const MEAN = 0.286;
export const STD = 0.353;

function readIdx(path: string, magic: number): { dims: number[]; data: Uint8Array } {
  const bytes = gunzipSync(readFileSync(path));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== magic) throw new Error(`bench/fashion.ts: ${path} is not an IDX file with magic ${magic}`);
  const rank = magic & 0xff;
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  return { dims, data: bytes.subarray(4 + 4 * rank) };
}

/** A split as float32 images [N, 1, 28, 28] ((x/255 - MEAN) / STD) and int64 labels [N]; the first `limit` samples. */
export function loadFashion(split: 'train' | 't10k', limit = Infinity): { images: Tensor; labels: Tensor } {
  const images = readIdx(join(FASHION_DIR, `${split}-images-idx3-ubyte.gz`), 0x803);
  const labels = readIdx(join(FASHION_DIR, `${split}-labels-idx1-ubyte.gz`), 0x801);
  const n = Math.min(images.dims[0], limit);
  const pixels = images.dims[1] * images.dims[2];
  // NOTE: normalising in libtorch (in place, same float ops as bench/mnist.py) avoids a 4-byte-per-pixel
  // JS copy that would linger until V8 collects it and inflate peak RSS.
  const bytes = tensor(images.data.subarray(0, n * pixels), [n, 1, images.dims[1], images.dims[2]]);
  const floats = bytes.float();
  bytes.dispose();
  noGrad(() => {
    for (const [name, value] of [['aten::div_', 255], ['aten::sub_', MEAN], ['aten::div_', STD]] as const) op(name, 'Scalar', [floats.handle, value]).dispose();
  });
  emptyCache();
  const classes = BigInt64Array.from(labels.data.subarray(0, n), (v) => BigInt(v));
  return { images: floats, labels: tensor(classes, [n]) };
}
