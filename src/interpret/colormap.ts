/** Colour maps for heatmaps (Vega's schemes: turbo, viridis, ...) and blending a heatmap over an image. */
// NOTE: vega-scale (Vega's schemes) rather than vega itself: vega's module graph has a top-level await (see render.ts).
import { scheme } from 'vega-scale';

const tables = new Map<string, Uint8Array>();

function parseColour(text: string): [number, number, number] {
  const rgb = /^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/.exec(text);
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(text);
  if (hex) return [parseInt(hex[1], 16), parseInt(hex[2], 16), parseInt(hex[3], 16)];
  throw new Error(`colormap: cannot read colour '${text}'`);
}

/** A 256-entry RGB table of a Vega colour scheme (e.g. 'turbo', 'viridis', 'inferno', 'blues'). */
export function colormap(name = 'turbo'): Uint8Array {
  let table = tables.get(name);
  if (table) return table;
  const interpolate = scheme(name) as ((t: number) => string) | undefined;
  if (typeof interpolate !== 'function') throw new Error(`colormap: unknown colour scheme '${name}'`);
  table = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) table.set(parseColour(interpolate(i / 255)), i * 3);
  tables.set(name, table);
  return table;
}

/** Values in [0, 1] (row-major H x W) coloured through `name`: HWC RGB bytes. */
export function colorize(values: Float32Array, name = 'turbo'): Uint8Array {
  const table = colormap(name);
  const out = new Uint8Array(values.length * 3);
  for (let i = 0; i < values.length; i++) {
    const k = Math.max(0, Math.min(255, Math.round((Number.isFinite(values[i]) ? values[i] : 0) * 255))) * 3;
    out[i * 3] = table[k]; out[i * 3 + 1] = table[k + 1]; out[i * 3 + 2] = table[k + 2];
  }
  return out;
}

/** An HWC uint8 picture (1 or 3 channels). */
export interface Picture { data: Uint8Array; width: number; height: number; channels: number }

/** RGB copy of a grey or RGB picture. */
export function toRgb(image: Picture): Uint8Array {
  if (image.channels === 3) return image.data;
  const plane = image.width * image.height;
  const out = new Uint8Array(plane * 3);
  for (let p = 0; p < plane; p++) { const v = image.data[p * image.channels]; out[p * 3] = v; out[p * 3 + 1] = v; out[p * 3 + 2] = v; }
  return out;
}

/** Blends a [0, 1] heatmap of the picture's size over it: (1 - alpha) * image + alpha * colour (RGB out). */
export function overlayHeatmap(image: Picture, heat: Float32Array, options: { alpha?: number; colormap?: string } = {}): Picture {
  const plane = image.width * image.height;
  if (heat.length !== plane) throw new Error(`overlayHeatmap: heatmap has ${heat.length} values for a ${image.width}x${image.height} image`);
  const alpha = options.alpha ?? 0.45;
  const base = toRgb(image);
  const colours = colorize(heat, options.colormap ?? 'turbo');
  const out = new Uint8Array(plane * 3);
  for (let i = 0; i < out.length; i++) out[i] = Math.round((1 - alpha) * base[i] + alpha * colours[i]);
  return { data: out, width: image.width, height: image.height, channels: 3 };
}
