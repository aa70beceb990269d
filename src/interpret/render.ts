/** Renders Vega-Lite specs in Node: to SVG text (Vega's headless renderer) and to PNG (sharp). */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import sharp from 'sharp';
import type * as Vega from 'vega';
import type * as VegaLite from 'vega-lite';
import type { VegaLiteSpec } from './specs.js';

interface Renderer { vega: typeof Vega; vegaLite: typeof VegaLite; expressionInterpreter: unknown }
let renderer: Promise<Renderer> | undefined;

// NOTE: Vega is loaded on first use, not imported at the top: vega-canvas (under vega and vega-lite) has a
// top-level await, which would make Kestrel's whole module graph impossible to require() from CommonJS
// (notebook kernels such as tslab compile cells to CommonJS; so do many test runners).
function loadRenderer(): Promise<Renderer> {
  renderer ??= Promise.all([import('vega'), import('vega-lite'), import('vega-interpreter')])
    .then(([vega, vegaLite, { expressionInterpreter }]) => ({ vega, vegaLite, expressionInterpreter }));
  return renderer;
}

/** Renders a Vega-Lite spec to SVG text. */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const { vega, vegaLite, expressionInterpreter } = await loadRenderer();
  // NOTE: Vega-Lite's warnings (e.g. merged legends) are about the spec, not the data; kept off the console.
  const compiled = vegaLite.compile(spec as never, { logger: vega.logger(vega.Error) as never }).spec;
  // NOTE: the expression interpreter instead of Vega's code generation: nothing is compiled with `new Function`,
  // the same (CSP-safe) path the dashboard page uses.
  const view = new vega.View(vega.parse(compiled, undefined, { ast: true }), { renderer: 'none', expr: expressionInterpreter as never, logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Renders a Vega-Lite spec to PNG bytes (`scale` > 1 for sharper pictures). */
export async function renderPng(spec: VegaLiteSpec, options: { scale?: number } = {}): Promise<Buffer> {
  const svg = await renderSvg(spec);
  const scale = options.scale ?? 1;
  return sharp(Buffer.from(svg), { density: 72 * scale }).png().toBuffer();
}

/** Renders a Vega-Lite spec and writes it as PNG (directories created); resolves to the path. */
export async function savePng(spec: VegaLiteSpec, path: string, options: { scale?: number } = {}): Promise<string> {
  const png = await renderPng(spec, options);
  mkdirSync(dirname(path), { recursive: true });
  await sharp(png).toFile(path);
  return path;
}
