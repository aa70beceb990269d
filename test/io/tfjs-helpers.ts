/** Test helpers for TF.js models: the reference TF.js (pure-JS CPU backend), saving, quantizing, photos. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { tensor, tidy } from '../../src/tensor/index.js';

/** The repository root (tests run from dist/test/io). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** model.json of nsfwjs's MobileNetV2, extracted from node_modules on first use (git-ignored). */
export function nsfwjsModelJson(): string {
  const path = join(ROOT, 'test', 'fixtures', 'nsfwjs', 'mobilenet_v2', 'model.json');
  if (!existsSync(path)) execFileSync(process.execPath, [join(ROOT, 'scripts', 'extract-nsfwjs.mjs')], { stdio: 'ignore' });
  return path;
}

/** nsfwjs's class names, in output order (from the package's own source). */
export const NSFWJS_CLASSES = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'];

let backendReady: Promise<boolean> | undefined;

/** The TF.js module with its pure-JS CPU backend selected. */
export async function tfjs(): Promise<typeof tf> {
  backendReady ??= tf.setBackend('cpu');
  await backendReady;
  return tf;
}

/** TF.js's own reading of a model.json and its shards (every group, as tf.loadLayersModel would); `strict: false` ignores extra weights. */
export async function tfjsLoad(modelJson: string, options: { strict?: boolean } = {}): Promise<tf.LayersModel> {
  const t = await tfjs();
  const json = JSON.parse(readFileSync(modelJson, 'utf8'));
  const groups = json.weightsManifest as { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  const weightData = Buffer.concat(groups.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(modelJson), p)))));
  return t.loadLayersModel(t.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: groups.flatMap((g) => g.weights),
    weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
  }), { strict: options.strict ?? true });
}

/** TF.js's outputs (every output of the model) for NHWC float32 input. */
export async function tfjsPredict(model: tf.LayersModel, nhwc: Float32Array, shape: number[]): Promise<Float32Array[]> {
  const t = await tfjs();
  const x = t.tensor(nhwc, shape);
  const y = model.predict(x) as tf.Tensor | tf.Tensor[];
  const ys = Array.isArray(y) ? y : [y];
  const out = await Promise.all(ys.map((v) => v.data() as Promise<Float32Array>));
  x.dispose();
  ys.forEach((v) => v.dispose());
  return out;
}

/**
 * Saves a TF.js model as model.json + shards in `dir`, the way tfjs-converter lays them out:
 * the weight bytes split into `shards` files (group1-shardKofN.bin).
 */
export async function tfjsSave(model: tf.LayersModel, dir: string, shards = 1): Promise<string> {
  const t = await tfjs();
  await model.save(t.io.withSaveHandler(async (artifacts) => {
    const data = Buffer.from(t.io.CompositeArrayBuffer.join(artifacts.weightData as ArrayBuffer | ArrayBuffer[]));
    const size = Math.ceil(data.byteLength / shards);
    const paths = Array.from({ length: shards }, (_, i) => `group1-shard${i + 1}of${shards}.bin`);
    paths.forEach((p, i) => writeFileSync(join(dir, p), data.subarray(i * size, (i + 1) * size)));
    const topology = artifacts.modelTopology as { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
    // NOTE: TF.js 4.22's SeparableConv2D.getConfig() leaves out depth_multiplier (Keras writes it),
    // so TF.js could not even reload its own file; put it back as Keras would.
    for (const layer of topology.config.layers) {
      if (layer.class_name === 'SeparableConv2D') layer.config.depth_multiplier = (model.getLayer(layer.config.name as string) as unknown as { depthMultiplier: number }).depthMultiplier;
    }
    const json = { format: 'layers-model', generatedBy: 'kestrel test', modelTopology: topology, weightsManifest: [{ paths, weights: artifacts.weightSpecs }] };
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return join(dir, 'model.json');
}

/** Half-precision bits of float32 values (libtorch's rounding: to nearest, ties to even). */
function toHalfBits(values: Float32Array): Uint16Array {
  return tidy(() => tensor(values).to('float16').toArray() as Uint16Array);
}

/**
 * Rewrites a float32 model.json + shards in place as a quantized one (`dtype` uint8, uint16 or
 * float16), the way tfjs-converter's --quantize flags do: q = round((v - min) / scale).
 */
export function quantizeModel(modelJson: string, dtype: 'uint8' | 'uint16' | 'float16'): void {
  const dir = dirname(modelJson);
  const json = JSON.parse(readFileSync(modelJson, 'utf8'));
  const group = json.weightsManifest[0];
  const data = Buffer.concat(group.paths.map((p: string) => readFileSync(join(dir, p))));
  let offset = 0;
  const parts: Buffer[] = [];
  for (const spec of group.weights) {
    const count = spec.shape.reduce((a: number, b: number) => a * b, 1);
    const values = new Float32Array(data.buffer.slice(data.byteOffset + offset, data.byteOffset + offset + count * 4));
    offset += count * 4;
    if (dtype === 'float16') {
      parts.push(Buffer.from(toHalfBits(values).buffer));
      spec.quantization = { dtype };
      continue;
    }
    const levels = dtype === 'uint8' ? 255 : 65535;
    const min = values.reduce((a, b) => Math.min(a, b), Infinity);
    const max = values.reduce((a, b) => Math.max(a, b), -Infinity);
    const scale = max > min ? (max - min) / levels : 1;
    const q = dtype === 'uint8' ? new Uint8Array(values.length) : new Uint16Array(values.length);
    values.forEach((v, i) => { q[i] = Math.round((v - min) / scale); });
    parts.push(Buffer.from(q.buffer));
    spec.quantization = { dtype, min, scale };
  }
  writeFileSync(join(dir, 'group1-shard1of1.bin'), Buffer.concat(parts));
  group.paths = ['group1-shard1of1.bin'];
  writeFileSync(modelJson, JSON.stringify(json));
}

/** Photos from Debian packages (scikit-image's data, matplotlib's sample data). */
export const PHOTOS = [
  '/usr/lib/python3/dist-packages/skimage/data/chelsea.png',
  '/usr/lib/python3/dist-packages/skimage/data/coffee.png',
  '/usr/lib/python3/dist-packages/skimage/data/astronaut.png',
  '/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg',
];

/** Decodes, resizes to size x size and scales to [0, 1] (nsfwjs's x/255): NHWC float32 for all photos. */
export async function photosNhwc(files: string[], size: number): Promise<Float32Array> {
  const out = new Float32Array(files.length * size * size * 3);
  for (const [i, file] of files.entries()) {
    const raw = await sharp(file).removeAlpha().resize(size, size, { fit: 'fill' }).raw().toBuffer();
    for (let j = 0; j < raw.length; j++) out[i * raw.length + j] = raw[j] / 255;
  }
  return out;
}

/** NHWC float32 -> NCHW float32. */
export function nhwcToNchw(data: Float32Array, [n, h, w, c]: number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
    out[((b * c + k) * h + y) * w + x] = data[((b * h + y) * w + x) * c + k];
  }
  return out;
}

/** The largest absolute difference between two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}
