// Finished runs side by side: a table and the curves of every run overlaid (TensorBoard-style).
import { streamingLineSpec } from '/lib/specs.js';
import { duration, mountChart, numberCell, setRows, textCell, widthOf } from '/static/charts.js';

const $ = (id) => document.getElementById(id);

function smoothed(losses) {
  let avg = 0;
  return losses.map((v, i) => { avg = 0.98 * avg + 0.02 * v; return avg / (1 - 0.98 ** (i + 1)); });
}

async function overlay(id, label, xLabel, runs, rowsOf, options = {}) {
  const names = runs.map((r) => r.name);
  const view = await mountChart($(id), streamingLineSpec({ title: '', width: widthOf($(id)), height: 240, x: { label: xLabel }, y: { label, log: options.log }, data: 'rows', series: names, dots: options.dots, integerX: options.dots }));
  await setRows(view, 'rows', runs.flatMap((run) => rowsOf(run).filter((r) => Number.isFinite(r.y) && (!options.log || r.y > 0)).map((r) => ({ ...r, series: run.name }))));
}

async function main() {
  const { root, runs } = await (await fetch('/api/runs')).json();
  $('root').textContent = root;
  const body = $('runs').tBodies[0];
  for (const run of runs) {
    const tr = document.createElement('tr');
    tr.dataset.run = run.name;
    const epochs = run.metrics?.epochs ?? [];
    const last = epochs[epochs.length - 1] ?? {};
    const time = epochs.reduce((s, e) => s + (e.seconds ?? 0), 0);
    tr.append(textCell(run.name), numberCell(epochs.length, 0), numberCell(last.accuracy), numberCell(last.validLoss), numberCell(last.trainLoss), textCell(duration(time)),
      textCell(run.error ?? run.metrics?.run?.command ?? '–'));
    body.append(tr);
  }
  const good = runs.filter((r) => r.metrics);
  const perEpoch = (key) => (run) => run.metrics.epochs.map((e) => ({ x: e.epoch, y: e[key] }));
  await overlay('chart-valid', 'Valid loss', 'Epoch', good, perEpoch('validLoss'), { dots: true });
  await overlay('chart-train', 'Train loss', 'Epoch', good, perEpoch('trainLoss'), { dots: true });
  await overlay('chart-accuracy', 'Accuracy', 'Epoch', good, perEpoch('accuracy'), { dots: true });
  await overlay('chart-batches', 'Loss', 'Iteration', good, (run) => smoothed(run.metrics.schedule?.losses ?? []).map((y, x) => ({ x, y })));
  await overlay('chart-lr', 'Learning rate', 'Iteration', good, (run) => (run.metrics.schedule?.lrs ?? []).map((y, x) => ({ x, y })));
  window.__kestrelRuns = runs.length;
}

main().catch((error) => { document.body.append(Object.assign(document.createElement('pre'), { textContent: String(error) })); });
