// The live training page: a snapshot, then server-sent events (batches, progress, epochs, status).
import { confusionMatrixSpec, streamingLineSpec, PALETTE } from '/lib/specs.js';
import { duration, mountChart, numberCell, setRows, textCell, widthOf } from '/static/charts.js';

const $ = (id) => document.getElementById(id);
const state = { batches: 0, epochs: [], status: 'connecting', smooth: 0, views: null, classes: [], progress: null, progressAt: 0 };
window.__kestrel = state;

async function makeCharts() {
  const chart = (id, options) => mountChart($(id), streamingLineSpec({ width: widthOf($(id)), height: 240, ...options }));
  return {
    loss: await chart('chart-loss', { title: '', x: { label: 'Iteration' }, y: { label: 'Loss' }, data: 'rows', series: ['batch loss', 'smoothed'], colors: [PALETTE[0] + '66', PALETTE[0]] }),
    lr: await chart('chart-lr', { title: '', x: { label: 'Iteration' }, y: { label: 'Learning rate' }, data: 'rows', series: ['learning rate'] }),
    epochs: await chart('chart-epochs', { title: '', x: { label: 'Epoch' }, y: { label: 'Loss' }, data: 'rows', series: ['train loss', 'valid loss'], dots: true, integerX: true }),
    accuracy: await chart('chart-accuracy', { title: '', x: { label: 'Epoch' }, y: { label: 'Accuracy' }, data: 'rows', series: ['valid accuracy'], colors: [PALETTE[2]], dots: true, integerX: true }),
  };
}

function batchRows(points, reset) {
  if (reset) state.smooth = 0;
  const rows = [];
  for (const p of points) {
    state.batches += 1;
    // fastai's smoothed loss: exponential moving average, debiased
    state.smooth = 0.98 * state.smooth + 0.02 * p.loss;
    rows.push({ x: p.iteration, y: p.loss, series: 'batch loss' }, { x: p.iteration, y: state.smooth / (1 - 0.98 ** state.batches), series: 'smoothed' });
  }
  return rows;
}

async function addBatches(points, reset = false) {
  if (reset) state.batches = 0;
  const rows = batchRows(points, reset);
  await setRows(state.views.loss, 'rows', rows, reset);
  await setRows(state.views.lr, 'rows', points.filter((p) => Number.isFinite(p.lr)).map((p) => ({ x: p.iteration, y: p.lr, series: 'learning rate' })), reset);
  $('batch-count').textContent = String(state.batches);
}

function epochRow(record) {
  const tr = document.createElement('tr');
  tr.dataset.epoch = String(record.epoch);
  const cells = [numberCell(record.epoch, 0), numberCell(record.trainLoss), numberCell(record.validLoss), numberCell(record.accuracy), numberCell(record.lr, 6), textCell(duration(record.seconds))];
  ['epoch', 'trainLoss', 'validLoss', 'accuracy', 'lr', 'seconds'].forEach((key, i) => { cells[i].dataset.key = key; });
  cells[4].textContent = Number.isFinite(record.lr) ? record.lr.toExponential(3) : '–';
  tr.append(...cells);
  return tr;
}

async function addEpochs(records, reset = false) {
  const body = $('epochs').tBodies[0];
  if (reset) { body.replaceChildren(); state.epochs = []; }
  for (const r of records) { state.epochs.push(r); body.append(epochRow(r)); }
  const rows = records.flatMap((r) => [{ x: r.epoch, y: r.trainLoss, series: 'train loss' }, { x: r.epoch, y: r.validLoss, series: 'valid loss' }]).filter((r) => Number.isFinite(r.y));
  await setRows(state.views.epochs, 'rows', rows, reset);
  await setRows(state.views.accuracy, 'rows', records.filter((r) => Number.isFinite(r.accuracy)).map((r) => ({ x: r.epoch, y: r.accuracy, series: 'valid accuracy' })), reset);
}

async function showConfusion(confusion) {
  if (!confusion) return;
  const element = $('confusion');
  element.replaceChildren();
  // NOTE: cells sized so the matrix and its labels fit the section's width.
  const cell = Math.max(16, Math.min(44, Math.floor((widthOf(element) - 190) / Math.max(1, confusion.classes.length))));
  await mountChart(element, confusionMatrixSpec({ classes: confusion.classes, counts: confusion.counts, title: ' ', cell }));
  const body = $('per-class').tBodies[0];
  body.replaceChildren();
  const predicted = confusion.counts[0].map((_, c) => confusion.counts.reduce((s, row) => s + row[c], 0));
  confusion.classes.forEach((name, i) => {
    const row = confusion.counts[i];
    const support = row.reduce((a, b) => a + b, 0);
    const tr = document.createElement('tr');
    tr.append(textCell(name), numberCell(support ? row[i] / support : NaN), numberCell(predicted[i] ? row[i] / predicted[i] : NaN), numberCell(support, 0));
    body.append(tr);
  });
}

function showStatus(status) {
  state.status = status;
  const badge = $('status');
  badge.textContent = status;
  badge.className = `badge ${status}`;
  $('stop').disabled = status !== 'running';
}

function showProgress(progress) {
  if (!progress) return;
  state.progress = progress; state.progressAt = performance.now();
  const done = progress.iteration - progress.startIteration;
  const left = progress.totalIterations - progress.iteration;
  const eta = done > 0 ? (progress.elapsed / done) * left : NaN;
  const fraction = progress.totalIterations ? progress.iteration / progress.totalIterations : 0;
  $('progress-bar').style.width = `${(100 * fraction).toFixed(1)}%`;
  const phase = progress.phase === 'valid' ? ' · validating' : '';
  $('progress-text').textContent = `epoch ${Math.min(progress.epoch + 1, progress.epochs)}/${progress.epochs} · batch ${progress.batch}/${progress.batches}${phase} · ${duration(progress.elapsed)} elapsed · ETA ${state.status === 'running' ? duration(eta) : '–'}`;
}

function showRun(snapshot) {
  $('title').textContent = snapshot.title;
  document.title = `${snapshot.title} · Kestrel`;
  $('command').textContent = snapshot.command ?? '–';
  const body = $('settings').tBodies[0];
  body.replaceChildren();
  for (const [key, value] of Object.entries(snapshot.settings ?? {})) {
    const tr = document.createElement('tr');
    tr.append(textCell(key), textCell(value === null || value === undefined ? '–' : String(value)));
    body.append(tr);
  }
}

let queue = Promise.resolve();
const later = (fn) => { queue = queue.then(fn).catch((error) => console.error(error)); };

const events = new EventSource('/api/events');
events.addEventListener('snapshot', (e) => later(async () => {
  const snapshot = JSON.parse(e.data);
  state.views ??= await makeCharts();
  showRun(snapshot);
  showStatus(snapshot.status);
  await addBatches(snapshot.batches, true);
  await addEpochs(snapshot.epochs, true);
  await showConfusion(snapshot.confusion);
  showProgress(snapshot.progress);
}));
events.addEventListener('batches', (e) => later(() => addBatches(JSON.parse(e.data))));
events.addEventListener('progress', (e) => later(() => showProgress(JSON.parse(e.data))));
events.addEventListener('epoch', (e) => later(async () => { const { record, confusion } = JSON.parse(e.data); await addEpochs([record]); await showConfusion(confusion); }));
events.addEventListener('status', (e) => later(() => { const { status } = JSON.parse(e.data); showStatus(status); if (status !== 'running' && status !== 'stopping') showProgress(state.progress); }));
events.onerror = () => later(() => {
  if (['finished', 'stopped', 'failed'].includes(state.status)) events.close();
  else if (events.readyState === EventSource.CLOSED) showStatus('disconnected');
});

$('stop').addEventListener('click', async () => {
  $('stop').disabled = true;
  const response = await fetch('/api/stop', { method: 'POST', headers: { 'X-Kestrel-Action': 'stop' } });
  const answer = await response.json();
  showStatus(answer.status);
});
