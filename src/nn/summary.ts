/** Keras-style model summary: layer, output shape, parameter count. */
import { zeros, noGrad, tidy } from '../tensor/index.js';
import type { Module } from './module.js';
import type { GraphModel } from './graph/model.js';
import type { SymbolicTensor } from './graph/symbolic.js';

/** One row of a summary. */
export interface SummaryRow {
  /** Dotted module name (e.g. `features.0`). */
  name: string;
  /** Class name (e.g. `Conv2d`). */
  type: string;
  /** Output shape with the batch dimension as -1. */
  outputShape: number[];
  /** Parameters owned directly by this layer (0 on a shared layer's later calls). */
  parameters: number;
  /** Graph models: where the inputs come from, Keras-style `layer[call][output]`. */
  connectedTo?: string[];
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
    module.forward = (x, ...rest) => {
      const out = forward.call(module, x, ...rest);
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
  return displayable({ rows, totalParameters, trainableParameters, text: formatSummary(model.constructor.name, rows, totalParameters, trainableParameters, false) }, model.constructor.name, false);
}

/**
 * A graph model's table: one row per input and per call, in execution order, with a "Connected
 * to" column unless the model is a plain chain (like Keras).
 */
export function summarizeGraph(model: GraphModel): Summary {
  const source = new Map<SymbolicTensor, string>();
  const rows: SummaryRow[] = [];
  const batchAsMinusOne = (shape: readonly (number | null)[]) => shape.map((d) => d ?? -1);
  for (const t of model.inputs) {
    source.set(t, `${t.name}[0][0]`);
    rows.push({ name: t.name, type: 'InputLayer', outputShape: batchAsMinusOne(t.shape), parameters: 0, connectedTo: [] });
  }
  for (const step of model.steps) {
    step.outputs.forEach((t, i) => source.set(t, `${step.name}[${step.call}][${i}]`));
    rows.push({
      name: step.name, type: step.module.constructor.name, outputShape: batchAsMinusOne(step.outputShapes[0]),
      parameters: step.call === 0 ? step.module.numParameters() : 0, connectedTo: step.inputs.map((t) => source.get(t)!),
    });
  }
  const totalParameters = model.numParameters();
  const trainableParameters = model.numParameters(true);
  const connected = !isChain(model);
  const text = formatSummary(model.name ?? model.constructor.name, rows, totalParameters, trainableParameters, connected);
  return displayable({ rows, totalParameters, trainableParameters, text }, model.name ?? model.constructor.name, connected);
}

// NOTE: Jupyter's display protocol symbol (see DISPLAY in src/learn/notebook.ts). Symbol.for returns the same
// symbol everywhere, so this layer below learn needs no import to take part.
const DISPLAY = Symbol.for('Jupyter.display');

/** Adds the notebook form (an HTML table, text as the plain twin) to a summary, as a non-enumerable method. */
function displayable(summary: Summary, title: string, connected: boolean): Summary {
  Object.defineProperty(summary, DISPLAY, { value: () => ({ 'text/html': summaryHtml(summary, title, connected), 'text/plain': summary.text }) });
  return summary;
}

/** Escapes text for HTML. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/** A summary as an HTML table (Keras's columns; "Connected to" for graph models that are not a chain). */
export function summaryHtml(summary: Summary, title: string, connected = summary.rows.some((r) => (r.connectedTo?.length ?? 0) > 1)): string {
  const fmt = (n: number) => n.toLocaleString('en-US');
  const cell = (v: string, align = 'left') => `<td style="text-align:${align};padding:2px 12px">${escapeHtml(v)}</td>`;
  const header = ['Layer (type)', 'Output Shape', 'Param #', ...(connected ? ['Connected to'] : [])];
  const rows = summary.rows.map((r) => `<tr>${cell(`${r.name} (${r.type})`)}${cell(`[${r.outputShape.map((d) => (d === -1 ? 'None' : String(d))).join(', ')}]`)}${cell(fmt(r.parameters), 'right')}${connected ? cell(r.connectedTo && r.connectedTo.length > 0 ? r.connectedTo.join(', ') : '-') : ''}</tr>`);
  const total = summary.totalParameters; const trainable = summary.trainableParameters;
  return [
    `<div><b>Model: "${escapeHtml(title)}"</b>`,
    `<table class="kestrel-summary" style="border-collapse:collapse"><thead><tr>${header.map((h) => `<th style="text-align:left;padding:2px 12px">${h}</th>`).join('')}</tr></thead>`,
    `<tbody>${rows.join('')}</tbody></table>`,
    `<div>Total params: ${fmt(total)}<br>Trainable params: ${fmt(trainable)}<br>Non-trainable params: ${fmt(total - trainable)}</div></div>`,
  ].join('');
}

/** Whether every call reads the previous call's output once, from one input to one output (Keras's "sequential-like"). */
function isChain(model: GraphModel): boolean {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return false;
  let previous: SymbolicTensor = model.inputs[0];
  for (const step of model.steps) {
    if (step.call > 0 || step.inputs.length !== 1 || step.inputs[0] !== previous) return false;
    previous = step.outputs[0];
  }
  return previous === model.outputs[0];
}

function formatSummary(title: string, rows: SummaryRow[], total: number, trainable: number, connected: boolean): string {
  const fmt = (n: number) => n.toLocaleString('en-US');
  const cells = rows.map((r) => [
    `${r.name} (${r.type})`, `[${r.outputShape.map((d) => (d === -1 ? 'None' : String(d))).join(', ')}]`, fmt(r.parameters),
    ...(connected ? [r.connectedTo && r.connectedTo.length > 0 ? r.connectedTo.join(', ') : '-'] : []),
  ]);
  const header = ['Layer (type)', 'Output Shape', 'Param #', ...(connected ? ['Connected to'] : [])];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)) + 4);
  const line = (c: string[]) => c.map((v, i) => (i === 2 ? v.padStart(widths[i] - 4).padEnd(widths[i]) : v.padEnd(widths[i]))).join('').trimEnd();
  const width = widths.reduce((a, b) => a + b, 0) - 4;
  return [
    `Model: "${title}"`,
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
