/** What the network sees: first-layer filters as a grid, a layer's activation maps for one image, Grad-CAM overlays. */
import { type Tensor, noGrad, tidy } from '../tensor/index.js';
import { type Module, findModule, withForwardHook } from '../nn/index.js';
import { type Tile, batchPixels, renderTiles } from '../data/index.js';
import { colorize, overlayHeatmap } from './colormap.js';
import type { GradCamResult } from './gradcam.js';

/** The first layer (in `namedModules()` order) with a 4-D `weight` [out, in, kh, kw]: a model's first convolution. */
export function firstConvLayer(model: Module): { name: string; weight: Tensor } {
  for (const [name, module] of model.namedModules()) {
    const weight = (module as { weight?: unknown }).weight;
    if (weight && typeof weight === 'object' && (weight as Tensor).rank === 4) return { name, weight: weight as Tensor };
  }
  throw new Error(`${model.constructor.name} has no convolution (no layer with a 4-D weight)`);
}

/** Min-max scales each of `count` planes of `values` to bytes (a constant plane becomes mid-grey). */
function scalePlanes(values: Float32Array, count: number): Uint8Array {
  const size = values.length / count;
  const out = new Uint8Array(values.length);
  for (let p = 0; p < count; p++) {
    let lo = Infinity; let hi = -Infinity;
    for (let i = p * size; i < (p + 1) * size; i++) { lo = Math.min(lo, values[i]); hi = Math.max(hi, values[i]); }
    for (let i = p * size; i < (p + 1) * size; i++) out[i] = hi > lo ? Math.round(((values[i] - lo) / (hi - lo)) * 255) : 128;
  }
  return out;
}

/**
 * The first convolution's filters as a grid (the Keras tutorial's learned features): RGB when the layer
 * reads 3 channels, else the mean over input channels in grey; each filter scaled to its own range.
 */
export function filtersPicture(model: Module, options: { cols?: number; cellSize?: number; layer?: string } = {}): Promise<Buffer> {
  const { name, weight } = options.layer !== undefined ? { name: options.layer, weight: (findModule(model, options.layer) as { weight?: Tensor }).weight } : firstConvLayer(model);
  if (!weight || weight.rank !== 4) throw new Error(`filtersPicture: layer '${name}' has no 4-D weight`);
  const [out, inputs, kh, kw] = weight.shape;
  const rgb = inputs === 3;
  const values = noGrad(() => tidy(() => {
    const w = rgb ? weight.permute(0, 2, 3, 1) : weight.mean(1);
    return w.contiguous().toArray() as Float32Array;
  }));
  const bytes = scalePlanes(values, out);
  const size = kh * kw * (rgb ? 3 : 1);
  const tiles: Tile[] = Array.from({ length: out }, (_, f) => ({ data: bytes.subarray(f * size, (f + 1) * size), width: kw, height: kh, channels: rgb ? 3 : 1, label: String(f) }));
  return renderTiles(tiles, { cols: options.cols ?? Math.min(8, out), cellSize: options.cellSize ?? 56, title: `Filters of layer '${name}' (${out} x ${inputs} x ${kh} x ${kw})` });
}

/** The output of layer `layer` for input `x` (one batch), captured by a forward hook in eval mode; the caller disposes it. */
export function activations(model: Module, x: Tensor, layer: string): Tensor {
  const module = findModule(model, layer);
  const modes = model.namedModules().map(([, m]) => [m, m.training] as const);
  model.eval();
  try {
    return noGrad(() => tidy(() => {
      let captured: Tensor | undefined;
      // NOTE: the model gets a view back, so a graph model freeing step outputs cannot free the captured maps.
      withForwardHook(module, (output) => { captured = output; return output.view(output.shape); }, () => model.forward(x));
      if (!captured) throw new Error(`activations: layer '${layer}' is not used when the model runs`);
      return captured;
    }));
  } finally {
    for (const [m, training] of modes) m.training = training;
  }
}

/** A layer's activation maps for one image [1, C, H, W] as a grid of coloured channels (the first `max`, default 32). */
export function activationsPicture(model: Module, x: Tensor, layer: string, options: { max?: number; cols?: number; cellSize?: number; colormap?: string } = {}): Promise<Buffer> {
  const maps = tidy(() => activations(model, x.rank === 3 ? x.unsqueeze(0) : x.slice(0, 0, 1), layer));
  try {
    if (maps.rank !== 4) throw new Error(`activationsPicture: layer '${layer}' gives [${maps.shape.join(', ')}], not spatial maps [N, C, H, W]`);
    const [, channels, h, w] = maps.shape;
    const shown = Math.min(channels, options.max ?? 32);
    const values = tidy(() => maps.select(0, 0).slice(0, 0, shown).contiguous().toArray() as Float32Array);
    const bytes = scalePlanes(values, shown);
    const tiles: Tile[] = Array.from({ length: shown }, (_, c) => {
      const plane = Float32Array.from(bytes.subarray(c * h * w, (c + 1) * h * w), (v) => v / 255);
      return { data: colorize(plane, options.colormap ?? 'viridis'), width: w, height: h, channels: 3, label: String(c) };
    });
    return renderTiles(tiles, { cols: options.cols ?? 8, cellSize: options.cellSize ?? 72, title: `Activations of layer '${layer}' (${channels} channels, ${h} x ${w})` });
  } finally {
    maps.dispose();
  }
}

/** Tiles of Grad-CAM results: per image the input and the heatmap over it, captioned with the class explained. */
export function gradCamTiles(x: Tensor, result: GradCamResult, options: { classes?: readonly string[]; normalization?: { mean: number[]; std: number[] } | null; names?: readonly string[]; colormap?: string } = {}): Tile[] {
  const images = batchPixels(x, options.normalization ?? null);
  const heat = result.heatmap.toArray() as Float32Array;
  const tiles: Tile[] = [];
  const name = (c: number) => options.classes?.[c] ?? String(c);
  images.forEach((image, i) => {
    const plane = image.width * image.height;
    const overlay = overlayHeatmap(image, heat.subarray(i * plane, (i + 1) * plane), { colormap: options.colormap });
    const title = options.names?.[i] ?? `#${i}`;
    tiles.push({ ...image, label: `${title}\npred ${name(result.predicted[i])} ${result.probabilities[i].toFixed(2)}` });
    tiles.push({ ...overlay, label: `Grad-CAM: ${name(result.classIndices[i])}\nlayer ${result.layer}` });
  });
  return tiles;
}

/** Grad-CAM results as a picture: rows of (image, heatmap overlay) pairs, `pairs` per row (default 2). */
export function gradCamPicture(x: Tensor, result: GradCamResult, options: Parameters<typeof gradCamTiles>[2] & { pairs?: number; cellSize?: number } = {}): Promise<Buffer> {
  return renderTiles(gradCamTiles(x, result, options), { cols: 2 * (options.pairs ?? 2), cellSize: options.cellSize ?? 160 });
}
