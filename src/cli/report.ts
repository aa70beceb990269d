/** `kestrel report RUN_DIR [--out report.html]`: one self-contained HTML file about a finished run. */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { dispose } from '../tensor/index.js';
import { summarize } from '../nn/index.js';
import { batchPixels, renderTiles } from '../data/index.js';
import {
  Interpretation, confusionMatrixPicture, gradCam, gradCamPicture, historyChart, htmlHeading, htmlImage, htmlPre, htmlTable, htmlText, lastSpatialLayer,
  lineChartSpec, lrScheduleChart, renderReport, renderSvg, topLossesPicture, type ReportSection,
} from '../interpret/index.js';
import { kestrelVersion } from '../io/index.js';
import { type CommandSpec, commandHelp, parseCommand } from './args.js';
import { type OpenedRun, openRun } from './run-dir.js';

/** The command's options. */
export const reportSpec: CommandSpec = {
  name: 'report',
  summary: 'write one self-contained HTML report of a run: settings, data, model, curves, metrics, confusion, top losses, Grad-CAM',
  positionals: [
    { name: 'run', description: 'directory written by kestrel train' },
    { name: 'dataset', description: "dataset to evaluate on (default: the run's own)", optional: true },
  ],
  options: {
    out: { type: 'string', description: 'output HTML file (default RUN/report.html)' },
    k: { type: 'integer', description: 'top losses shown', default: 9, min: 1 },
  },
};

async function sampleGrid(run: OpenedRun, n = 24): Promise<Buffer> {
  const tiles = [];
  for await (const batch of run.data.valid) {
    try {
      const y = Array.from(batch.y.toArray() as BigInt64Array, Number);
      const pixels = batchPixels(batch.x, run.data.normalize);
      for (let i = 0; i < pixels.length && tiles.length < n; i++) tiles.push({ ...pixels[i], label: run.manifest.classes[y[i]] ?? String(y[i]) });
    } finally {
      dispose(batch);
    }
    if (tiles.length >= n) break;
  }
  return renderTiles(tiles, { cols: 8, cellSize: 96 });
}

/** Builds the report's HTML for an opened run. */
export async function buildReport(run: OpenedRun, options: { k?: number } = {}): Promise<string> {
  const { manifest, metrics, model } = run;
  const sections: ReportSection[] = [];
  const info = metrics?.run;
  const settings = Object.entries(info?.settings ?? {}).map(([k, v]) => [k, v === null || v === undefined ? null : String(v)]);
  sections.push({
    id: 'run', title: 'Run',
    html: htmlPre(info?.command ?? '(not recorded: the run predates recorded settings)') + htmlTable(['setting', 'value'], settings)
      + htmlText(`Folder ${run.dir}; started ${info?.startedAt ?? '?'}, finished ${info?.finishedAt ?? '?'}${metrics?.stopped ? `; stopped at epoch ${metrics.stopped.epoch}, batch ${metrics.stopped.batch} (${metrics.stopped.reason})` : ''}.`, 'muted'),
  });

  const interp = await Interpretation.fromModel(model, run.data.valid, { classes: manifest.classes });
  const support = interp.confusionMatrix().map((row) => row.reduce((a, b) => a + b, 0));
  sections.push({
    id: 'dataset', title: 'Data',
    html: htmlText(`${run.data.description}; evaluated on ${interp.length} validation images. Input ${manifest.inputShape.join(' x ')}, normalised with mean [${(manifest.normalize?.mean ?? []).map((v) => v.toFixed(3)).join(', ')}] and std [${(manifest.normalize?.std ?? []).map((v) => v.toFixed(3)).join(', ')}].`)
      + htmlTable(['class', 'validation images'], manifest.classes.map((c, i) => [c, support[i] ?? 0])) + htmlHeading('Sample') + htmlImage(await sampleGrid(run), 'sample images with their labels'),
  });

  const summary = summarize(model, manifest.inputShape);
  sections.push({
    id: 'model', title: 'Model',
    html: htmlText(`${manifest.architecture.name}: ${summary.totalParameters.toLocaleString('en-US')} parameters (${summary.trainableParameters.toLocaleString('en-US')} trainable).`)
      + htmlTable(['layer', 'type', 'output shape', 'parameters'], summary.rows.map((r) => [r.name, r.type, `[${r.outputShape.map((d) => (d === -1 ? 'None' : String(d))).join(', ')}]`, r.parameters])),
  });

  const epochs = metrics?.epochs ?? [];
  if (epochs.length > 0) {
    const history = epochs.map((e) => ({ epoch: e.epoch, trainLoss: e.trainLoss, validLoss: e.validLoss, metrics: { accuracy: e.accuracy } }));
    let html = htmlImage(await renderSvg(lineChartSpec(historyChart(history))), 'training curves');
    const lrs = metrics?.schedule?.lrs ?? [];
    if (lrs.length > 0) html += htmlImage(await renderSvg(lineChartSpec(lrScheduleChart(lrs, { moms: metrics?.schedule?.moms, title: `Learning rate schedule (${metrics?.schedule?.name ?? '?'})` }))), 'learning rate schedule');
    html += htmlTable(['epoch', 'train loss', 'valid loss', 'accuracy', 'lr', 'seconds'], epochs.map((e) => [e.epoch, e.trainLoss, e.validLoss, e.accuracy, { html: Number.isFinite(e.lr) ? e.lr.toExponential(3) : '–' }, { number: e.seconds, digits: 1 }]), { id: 'epochs' });
    sections.push({ id: 'training', title: 'Training', html });
  }

  sections.push({
    id: 'metrics', title: 'Metrics',
    html: htmlTable(['accuracy', 'loss', 'images'], [[{ number: interp.accuracy }, { number: interp.loss }, interp.length]], { id: 'final' })
      + htmlHeading('Per class') + htmlTable(['class', 'precision', 'recall', 'F1', 'support'], interp.perClass().map((r) => [r.name, r.precision, r.recall, r.f1, r.support]), { id: 'per-class' }),
  });

  const confused = interp.mostConfused(1).slice(0, 15);
  sections.push({
    id: 'confusion', title: 'Confusion matrix',
    html: htmlImage(await confusionMatrixPicture(interp), 'confusion matrix (counts)') + htmlImage(await confusionMatrixPicture(interp, { normalize: true }), 'confusion matrix (normalised)')
      + htmlHeading('Most confused (actual → predicted)') + htmlTable(['actual', 'predicted', 'count'], confused.map((c) => [c.actual, c.predicted, c.count]), { id: 'most-confused' }),
  });

  const top = interp.topLosses(options.k ?? 9);
  const names = interp.names(top.map((t) => t.index));
  sections.push({
    id: 'top-losses', title: 'Top losses',
    html: htmlImage(await topLossesPicture(interp, { k: options.k ?? 9 }), 'top losses')
      + htmlTable(['item', 'actual', 'predicted', 'loss', 'probability'], top.map((t, i) => [names[i], interp.classes[t.actual], interp.classes[t.predicted], t.loss, t.probability]), { id: 'top-loss-table' }),
  });

  const shown = [...top.slice(0, 4), ...interp.mostCorrect(4)];
  const batch = await interp.fetch(shown.map((t) => t.index));
  try {
    const layer = lastSpatialLayer(model, batch.x);
    const cam = gradCam(model, batch.x, { layer });
    try {
      sections.push({
        id: 'gradcam', title: 'Grad-CAM',
        html: htmlText(`Where the model looked (layer ${layer}; class explained: the predicted one). First row: the largest losses; second: the most confident right answers.`)
          + htmlImage(await gradCamPicture(batch.x, cam, { classes: interp.classes, normalization: interp.normalization, names: interp.names(shown.map((t) => t.index)), pairs: 4, cellSize: 128 }), 'Grad-CAM heatmaps'),
      });
    } finally {
      dispose([cam.heatmap, cam.cam]);
    }
  } catch (error) {
    if (!/no layer with a spatial/.test((error as Error).message)) throw error;
    sections.push({ id: 'gradcam', title: 'Grad-CAM', html: htmlText('This model has no convolutional (spatial) layer, so Grad-CAM does not apply.') });
  } finally {
    dispose(batch);
  }

  return renderReport({
    title: `Kestrel report: ${manifest.architecture.name} on ${run.datasetName}`,
    subtitle: `accuracy ${(100 * interp.accuracy).toFixed(2)}% on ${interp.length} images · ${manifest.classes.length} classes · ${run.dir}`,
    sections, footer: `Generated by Kestrel ${kestrelVersion()} on ${new Date().toISOString()}.`,
  });
}

/** Writes the report of run `dir` to `out` (default DIR/report.html); resolves to the path. */
export async function writeRunReport(dir: string, options: { dataset?: string; out?: string; k?: number } = {}): Promise<string> {
  const run = await openRun(dir, options.dataset);
  try {
    const html = await buildReport(run, options);
    const out = resolve(options.out ?? join(run.dir, 'report.html'));
    writeFileSync(out, html);
    return out;
  } finally {
    await run.close();
  }
}

/** Runs the command; resolves to the exit code. */
export async function runReport(argv: string[]): Promise<number> {
  const { positionals, options } = parseCommand(reportSpec, argv);
  if (options.help) { console.log(commandHelp(reportSpec)); return 0; }
  const out = await writeRunReport(positionals[0], { dataset: positionals[1], out: options.out as string | undefined, k: options.k as number });
  console.log(`kestrel: wrote ${out}`);
  return 0;
}
