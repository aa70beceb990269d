/** TF.js weights manifests: validation and decoding of the concatenated shards into named tensors. */
import { type Tensor, tensor } from '../../tensor/index.js';
import { float16ToFloat32 } from './float16.js';

/** How a weight's values were quantized by the TF.js converter (value = q * scale + min). */
export interface WeightQuantization {
  dtype: 'uint8' | 'uint16' | 'float16';
  scale?: number;
  min?: number;
}

/** One entry of a weights group: a named tensor laid out in the group's shards. */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  quantization?: WeightQuantization;
}

/** Shard files (concatenated in order) and the weights stored in them, in order. */
export interface WeightsGroup {
  paths: string[];
  weights: WeightSpec[];
}

/** model.json's `weightsManifest`. */
export type WeightsManifest = WeightsGroup[];

const BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2 };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks parsed `weightsManifest` JSON; throws naming the entry and the problem. */
export function validateWeightsManifest(value: unknown): WeightsManifest {
  if (!Array.isArray(value)) throw new Error(`weightsManifest must be an array of {paths, weights}, got ${typeof value}`);
  const names = new Set<string>();
  value.forEach((group: unknown, g) => {
    const where = `weightsManifest[${g}]`;
    if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) throw new Error(`${where} must be {paths: [...], weights: [...]}`);
    for (const path of group.paths) {
      // NOTE: shard paths come from strangers' files: only relative paths inside the model's
      // directory are read (no absolute paths, no '..'), so a model.json cannot read other files.
      if (typeof path !== 'string' || path === '' || path.startsWith('/') || path.includes('\\') || path.split('/').includes('..')) {
        throw new Error(`${where}.paths: ${JSON.stringify(path)} is not a relative file name inside the model's directory`);
      }
    }
    group.weights.forEach((spec: unknown, i) => {
      const at = `${where}.weights[${i}]`;
      if (!isObject(spec) || typeof spec.name !== 'string') throw new Error(`${at} must be {name, shape, dtype}`);
      const label = `weight '${spec.name}'`;
      if (names.has(spec.name)) throw new Error(`${label} appears twice in weightsManifest`);
      names.add(spec.name);
      if (!Array.isArray(spec.shape) || spec.shape.length > 8 || !spec.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        throw new Error(`${label}: shape must be an array of non-negative integers, got ${JSON.stringify(spec.shape)}`);
      }
      if (spec.dtype !== 'float32' && spec.dtype !== 'int32') throw new Error(`${label}: dtype ${JSON.stringify(spec.dtype)} is not supported (float32 or int32)`);
      if (spec.quantization !== undefined) {
        const q = spec.quantization;
        if (!isObject(q) || !['uint8', 'uint16', 'float16'].includes(q.dtype as string)) {
          throw new Error(`${label}: quantization dtype ${JSON.stringify(isObject(q) ? q.dtype : q)} is not supported (uint8, uint16 or float16)`);
        }
        if (q.dtype === 'float16' && spec.dtype !== 'float32') throw new Error(`${label}: float16 quantization needs dtype float32, got ${spec.dtype}`);
        if (q.dtype !== 'float16' && !(Number.isFinite(q.scale) && Number.isFinite(q.min))) {
          throw new Error(`${label}: ${String(q.dtype)} quantization needs finite numbers 'scale' and 'min'`);
        }
      }
    });
  });
  return value as WeightsManifest;
}

/** Bytes a weight occupies in its shard. */
function byteLength(spec: WeightSpec): number {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const bytes = count * BYTES[spec.quantization?.dtype ?? spec.dtype];
  if (!Number.isSafeInteger(bytes)) throw new Error(`weight '${spec.name}': shape [${spec.shape.join(', ')}] is too large`);
  return bytes;
}

/** The float32 or int32 values of one weight from its bytes (copied, so aligned). */
function decodeValues(spec: WeightSpec, bytes: Uint8Array): Float32Array | Int32Array {
  // NOTE: a copy (Buffer's slice() would share memory), so the typed arrays below start aligned.
  const buffer = new Uint8Array(bytes).buffer;
  const q = spec.quantization;
  if (q === undefined) return spec.dtype === 'int32' ? new Int32Array(buffer) : new Float32Array(buffer);
  if (q.dtype === 'float16') return float16ToFloat32(new Uint16Array(buffer));
  const raw = q.dtype === 'uint8' ? new Uint8Array(buffer) : new Uint16Array(buffer);
  const scale = q.scale as number;
  const min = q.min as number;
  // NOTE: computed in double and stored once, exactly as TF.js does (io_utils decodeWeight); int32
  // weights are rounded to the nearest integer, as TF.js does too.
  if (spec.dtype === 'int32') return Int32Array.from(raw, (v) => Math.round(v * scale + min));
  return Float32Array.from(raw, (v) => v * scale + min);
}

/**
 * Decodes the weights of a TF.js `weightsManifest`: for each group, its shards (read with
 * `readShard(path)`) are concatenated in order and the weights read one after another, dequantized
 * to float32 (or int32). Returns name -> tensor; the caller disposes the tensors. A shard that
 * cannot be read, or shards shorter than their weights need, is an error naming the files.
 */
export function decodeWeightsManifest(manifest: WeightsManifest, readShard: (path: string) => Uint8Array): Map<string, Tensor> {
  const groups = validateWeightsManifest(manifest);
  const out = new Map<string, Tensor>();
  try {
    for (const group of groups) {
      const shards = group.paths.map((path) => ({ path, bytes: readShard(path) }));
      const data = shards.length === 1 ? shards[0].bytes : Buffer.concat(shards.map((s) => s.bytes));
      const needed = group.weights.reduce((sum, spec) => sum + byteLength(spec), 0);
      if (data.byteLength < needed) {
        const files = shards.map((s) => `'${s.path}' (${s.bytes.byteLength} bytes)`).join(', ');
        throw new Error(`shards ${files} hold ${data.byteLength} bytes but their weights need ${needed}: '${group.paths.at(-1) ?? '?'}' is truncated or a shard is missing data`);
      }
      let offset = 0;
      for (const spec of group.weights) {
        const length = byteLength(spec);
        out.set(spec.name, tensor(decodeValues(spec, data.subarray(offset, offset + length)), spec.shape));
        offset += length;
      }
    }
  } catch (error) {
    for (const t of out.values()) t.dispose();
    throw error;
  }
  return out;
}
