/** Pictures of an Interpretation: confusion matrix, top losses, prediction grid, most correct/incorrect/uncertain. */
import { dispose } from '../tensor/index.js';
import { type Tile, batchPixels, renderTiles } from '../data/index.js';
import type { Interpretation, RankedItem } from './interpretation.js';
import { renderPng } from './render.js';
import { confusionMatrixSpec } from './specs.js';

/** Caption colour of a right prediction. */
export const RIGHT_COLOUR = '#2ca02c';
/** Caption colour of a wrong prediction. */
export const WRONG_COLOUR = '#d62728';

/** The confusion matrix as a PNG heatmap (counts, or row-normalised with `normalize`). */
export function confusionMatrixPicture(interp: Pick<Interpretation, 'classes' | 'confusionMatrix'>, options: { normalize?: boolean; title?: string } = {}): Promise<Buffer> {
  return renderPng(confusionMatrixSpec({ classes: interp.classes, counts: interp.confusionMatrix(), normalize: options.normalize, title: options.title }));
}

/** Tiles of ranked items, fetched again from the interpretation's source, captioned by `caption`. */
async function rankedTiles(interp: Interpretation, items: readonly RankedItem[], caption: (item: RankedItem) => Pick<Tile, 'label' | 'color'>): Promise<Tile[]> {
  if (items.length === 0) return [];
  const batch = await interp.fetch(items.map((i) => i.index));
  try {
    const pixels = batchPixels(batch.x, interp.normalization);
    return items.map((item, k) => ({ ...pixels[k], ...caption(item) }));
  } finally {
    dispose(batch);
  }
}

const fixed = (v: number, digits = 2): string => (Number.isFinite(v) ? v.toFixed(digits) : String(v));

/** fastai's plot_top_losses: the `k` worst items with "predicted / actual" and "loss / probability" under each. */
export async function topLossesPicture(interp: Interpretation, options: { k?: number; cols?: number; cellSize?: number } = {}): Promise<Buffer> {
  const items = interp.topLosses(options.k ?? 9);
  if (items.length === 0) throw new Error('topLossesPicture: nothing was interpreted');
  const tiles = await rankedTiles(interp, items, (item) => ({
    label: `${interp.classes[item.predicted]} / ${interp.classes[item.actual]}\n${fixed(item.loss)} / ${fixed(item.probability)}`,
    color: item.predicted === item.actual ? RIGHT_COLOUR : WRONG_COLOUR,
  }));
  return renderTiles(tiles, { cols: options.cols ?? 3, cellSize: options.cellSize ?? 160, title: 'Prediction / actual, loss / probability' });
}

/** The Keras tutorial's grid: the first `n` items with their predicted class, green when right, red (with the actual class) when wrong. */
export async function predictionGridPicture(interp: Interpretation, options: { n?: number; cols?: number; cellSize?: number } = {}): Promise<Buffer> {
  const n = Math.min(options.n ?? 36, interp.length);
  if (n === 0) throw new Error('predictionGridPicture: nothing was interpreted');
  const items = Array.from({ length: n }, (_, i) => interp.at(i));
  const tiles = await rankedTiles(interp, items, (item) => item.predicted === item.actual
    ? { label: interp.classes[item.predicted], color: RIGHT_COLOUR }
    : { label: `${interp.classes[item.predicted]} (${interp.classes[item.actual]})`, color: WRONG_COLOUR });
  return renderTiles(tiles, { cols: options.cols ?? 6, cellSize: options.cellSize ?? 112 });
}

/** Which lesson-1 ranking {@link mostPicture} shows. */
export type MostKind = 'correct' | 'incorrect' | 'uncertain';

/**
 * fastai lesson 1's most correct / most incorrect / most uncertain images: one row per class (the first
 * `maxClasses`), `k` images each, captioned with the prediction and its probability.
 */
export async function mostPicture(interp: Interpretation, kind: MostKind, options: { k?: number; maxClasses?: number; cellSize?: number } = {}): Promise<Buffer> {
  const k = options.k ?? 4;
  const classes = interp.classes.slice(0, options.maxClasses ?? 10);
  const rank = { correct: interp.mostCorrect, incorrect: interp.mostIncorrect, uncertain: interp.mostUncertain }[kind].bind(interp);
  const rows = classes.map((_, c) => rank(k, c));
  const found = await rankedTiles(interp, rows.flat(), (item) => ({
    label: `${interp.classes[item.actual]} → ${interp.classes[item.predicted]}\np ${fixed(item.probability)}${kind === 'uncertain' ? ` (${fixed(item.actualProbability)})` : ''}`,
    color: item.predicted === item.actual ? RIGHT_COLOUR : WRONG_COLOUR,
  }));
  const blank = { data: new Uint8Array(4 * 4 * 3).fill(240), width: 4, height: 4, channels: 3 };
  const tiles: Tile[] = [];
  let next = 0;
  rows.forEach((row, c) => {
    for (let j = 0; j < k; j++) tiles.push(j < row.length ? found[next++] : { ...blank, label: j === 0 ? `${classes[c]}: none` : '' });
  });
  const title = { correct: 'Most correct (actual → predicted, probability)', incorrect: 'Most incorrect (actual → predicted, probability)', uncertain: 'Most uncertain (probability of prediction and of actual)' }[kind];
  return renderTiles(tiles, { cols: k, cellSize: options.cellSize ?? 112, title });
}

/** Per-class precision, recall, F1 and support as aligned text (scikit-learn's classification_report). */
export function classificationReport(interp: Interpretation): string {
  const rows = interp.perClass();
  const width = Math.max(12, ...rows.map((r) => r.name.length)) + 2;
  const line = (name: string, p: string, r: string, f: string, s: string) => `${name.padStart(width)}${p.padStart(11)}${r.padStart(11)}${f.padStart(11)}${s.padStart(10)}`;
  const mean = (key: 'precision' | 'recall' | 'f1') => rows.reduce((a, b) => a + b[key], 0) / Math.max(1, rows.length);
  const total = rows.reduce((a, b) => a + b.support, 0);
  return [
    line('', 'precision', 'recall', 'f1-score', 'support'), '',
    ...rows.map((r) => line(r.name, fixed(r.precision, 4), fixed(r.recall, 4), fixed(r.f1, 4), String(r.support))), '',
    line('accuracy', '', '', fixed(interp.accuracy, 4), String(total)),
    line('macro avg', fixed(mean('precision'), 4), fixed(mean('recall'), 4), fixed(mean('f1'), 4), String(total)),
  ].join('\n');
}
