/** Keras-style model summary: layer, output shape, parameter count. */
import { zeros, noGrad, tidy } from '../tensor/index.js';
import type { Module } from './module.js';

/** One row of a summary. */
export interface SummaryRow {
  /** Dotted module name (e.g. `features.0`). */
  name: string;
  /** Class name (e.g. `Conv2d`). */
  type: string;
  /** Output shape with the batch dimension as -1. */
  outputShape: number[];
  /** Parameters owned directly by this layer. */
  parameters: number;
}

/** The table and totals that summary() prints. */
export interface Summary {
  rows: SummaryRow[];
  totalParameters: number;
  trainableParameters: number;
  text: string;
}

/**
 * Runs one zero batch of `inputShape` (without the batch dim) through the model in eval mode
 * and records each leaf layer's output shape.
 */
export function summarize(model: Module, inputShape: number[]): Summary {
  const rows: SummaryRow[] = [];
  // NOTE: a layer used twice is patched once (under its first name), so each call adds one row.
  const leaves = model.namedModules().filter(([, m], i, all) => m.namedChildren().length === 0 && all.findIndex(([, other]) => other === m) === i);
  const originals = new Map<Module, Module['forward'] | undefined>();
  for (const [name, module] of leaves) {
    const forward = module.forward;
    // NOTE: remember only a forward that is the module's own field; a prototype method is restored by deleting the patch.
    originals.set(module, Object.hasOwn(module, 'forward') ? forward : undefined);
    module.forward = (x) => {
      const out = forward.call(module, x);
      rows.push({ name, type: module.constructor.name, outputShape: [-1, ...out.shape.slice(1)], parameters: module.numParameters() });
      return out;
    };
  }
  // NOTE: restore each module's own mode, so a model with some layers already in eval keeps them there.
  const modes = model.namedModules().map(([, m]) => [m, m.training] as const);
  model.eval();
  try {
    noGrad(() => tidy(() => { model.forward(zeros([1, ...inputShape])); }));
  } finally {
    for (const [module, own] of originals) {
      if (own) module.forward = own;
      else delete (module as { forward?: unknown }).forward;
    }
    for (const [module, training] of modes) module.training = training;
  }
  const totalParameters = model.numParameters();
  const trainableParameters = model.numParameters(true);
  return { rows, totalParameters, trainableParameters, text: formatSummary(model, rows, totalParameters, trainableParameters) };
}

function formatSummary(model: Module, rows: SummaryRow[], total: number, trainable: number): string {
  const fmt = (n: number) => n.toLocaleString('en-US');
  const cells = rows.map((r) => [`${r.name} (${r.type})`, `[${r.outputShape.map((d) => (d === -1 ? 'None' : String(d))).join(', ')}]`, fmt(r.parameters)]);
  const header = ['Layer (type)', 'Output Shape', 'Param #'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)) + 4);
  const line = (c: string[]) => c.map((v, i) => (i === 2 ? v.padStart(widths[i] - 4) : v.padEnd(widths[i]))).join('');
  const width = widths.reduce((a, b) => a + b, 0) - 4;
  return [
    `Model: "${model.constructor.name}"`,
    '_'.repeat(width),
    line(header),
    '='.repeat(width),
    ...cells.map(line),
    '='.repeat(width),
    `Total params: ${fmt(total)}`,
    `Trainable params: ${fmt(trainable)}`,
    `Non-trainable params: ${fmt(total - trainable)}`,
    '_'.repeat(width),
  ].join('\n');
}
