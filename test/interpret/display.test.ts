import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { DataLoader, TensorDataset, showBatch } from '../../src/data/index.js';
import { DISPLAY, Recorder, setNotebookHost, type EpochRecord } from '../../src/learn/index.js';
import { Conv2d, Flatten, Linear, ReLU, Sequential, input, GraphModel, add } from '../../src/nn/index.js';
import { Figure, display, imageMime, mimeBundle, plotHistory, plotLrFind, plotLrSchedule, pngSize } from '../../src/interpret/index.js';
import { randint, tidy } from '../../src/tensor/index.js';
import { blobLearner } from '../learn/fixtures.js';
import { captureConsole } from '../helpers/console.js';
import { recordingHost } from '../helpers/notebook.js';

const history: EpochRecord[] = [1, 2, 3].map((epoch) => ({
  epoch, trainLoss: 1 / epoch, validLoss: 1.2 / epoch, seconds: 1, samplesPerSecond: 10, lr: 0.1, metrics: { accuracy: 0.5 + epoch / 10 }, accuracy: 0.5 + epoch / 10,
}));

test('plot functions without a path resolve to Figures: PNG bytes plus the SVG, displayable and savable', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-figures-'));
  try {
    const figure = await plotHistory(history, { title: 'Curves <&>' });
    assert.ok(figure instanceof Figure);
    assert.deepEqual([figure.width, figure.height], [800, 500]);
    assert.deepEqual(pngSize(figure.png), { width: 800, height: 500 });
    assert.match(figure.svg!, /^<svg[\s\S]*Curves &lt;&amp;&gt;/);
    assert.equal(String(figure), 'Figure(800x500 "Curves <&>")');
    const bundle = figure[DISPLAY]();
    assert.deepEqual(Buffer.from(bundle['image/png']!, 'base64'), figure.png, 'the bundle carries the PNG as base64');
    assert.equal(bundle['image/svg+xml'], figure.svg);
    // the same chart as the path form writes
    const written = await plotHistory(history, join(dir, 'h.png'), { title: 'Curves <&>' });
    assert.deepEqual((await sharp(readFileSync(written)).raw().toBuffer()), await sharp(figure.png).raw().toBuffer(), 'same pixels as the PNG file');
    await figure.save(join(dir, 'sub', 'h.svg'));
    assert.equal(readFileSync(join(dir, 'sub', 'h.svg'), 'utf8'), figure.svg);
    await figure.save(join(dir, 'h2.png'));
    assert.deepEqual(readFileSync(join(dir, 'h2.png')), figure.png);

    const recorder = new Recorder();
    const learn = blobLearner({ callbacks: [recorder] });
    await learn.fitOneCycle(2, 0.1);
    const schedule = await plotLrSchedule(recorder.lrs, { moms: recorder.moms });
    assert.equal(schedule.title, 'Learning rate schedule');
    const finder = await plotLrFind(await blobLearner().lrFind({ numIt: 30 }));
    assert.equal(finder.title, 'Learning rate finder');
    assert.equal((await sharp(finder.png).metadata()).format, 'png');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Figure checks its bytes; fromFile reads PNG, SVG and other formats', async () => {
  assert.throws(() => new Figure(Buffer.from('not a png')), /needs PNG bytes/);
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-figures-'));
  try {
    const jpeg = join(dir, 'a.jpg');
    await sharp({ create: { width: 30, height: 20, channels: 3, background: 'red' } }).jpeg().toFile(jpeg);
    const fromJpeg = await Figure.fromFile(jpeg);
    assert.deepEqual([fromJpeg.width, fromJpeg.height], [30, 20]);
    writeFileSync(join(dir, 'b.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="12" height="8"><rect width="12" height="8" fill="blue"/></svg>');
    const fromSvg = await Figure.fromFile(join(dir, 'b.svg'));
    assert.deepEqual([fromSvg.width, fromSvg.height, fromSvg.svg?.startsWith('<svg')], [12, 8, true]);
    await assert.rejects(Figure.fromFile(join(dir, 'missing.png')), /no such picture file/);
    await assert.rejects(fromJpeg.save(join(dir, 'x.svg')), /has no SVG form/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('display() shows every kind of picture in a notebook, in order, and prints text elsewhere', async () => {
  const data = tidy(() => new TensorDataset(randint(0, 256, [8, 1, 12, 12]).to('uint8'), randint(0, 2, [8]).long(), { classes: ['a', '<b>'] }));
  const grid = await showBatch(new DataLoader(data, { batchSize: 4 }), { n: 4, cols: 2 });
  assert.equal(imageMime(grid), 'image/png', 'showBatch without a path resolves to PNG bytes');
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-display-'));
  const host = recordingHost();
  setNotebookHost(host);
  try {
    const file = await showBatch(new DataLoader(data, { batchSize: 2 }), { path: join(dir, 'grid.png'), n: 2 });
    const model = new Sequential(new Conv2d(1, 2, 3), new ReLU(), new Flatten(), new Linear(2 * 10 * 10, 2));
    const summary = model.summary([1, 12, 12], { print: false });
    await display(plotHistory(history), grid, file, summary, 'plain words', { a: 1 });
    const types = host.shown.map((b) => Object.keys(b).filter((k) => k !== 'text/plain').join('+') || 'text/plain');
    assert.deepEqual(types, ['image/png+image/svg+xml', 'image/png', 'image/png', 'text/html', 'text/plain', 'text/plain']);
    assert.deepEqual(Buffer.from(host.shown[1]['image/png']!, 'base64'), grid);
    assert.deepEqual(Buffer.from(host.shown[2]['image/png']!, 'base64'), readFileSync(file), 'a path to a picture shows the picture');
    const html = host.shown[3]['text/html']!;
    assert.match(html, /<table class="kestrel-summary"/);
    assert.equal((html.match(/<tr>/g) ?? []).length, 1 + 4, 'a header row and one row per layer');
    assert.match(html, /3 \(Linear\)<\/td><td[^>]*>\[None, 2\]<\/td><td[^>]*>402<\/td>/);
    assert.match(html, /Total params: 422/);
    assert.equal(host.shown[3]['text/plain'], summary.text, 'the plain twin is the Keras-style text');
    assert.equal(host.shown[5]['text/plain'], '{ a: 1 }');
    await assert.rejects(display(Buffer.from('not an image')), /not a PNG, JPEG or GIF image/);
  } finally {
    setNotebookHost(undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  const { out } = await captureConsole(() => display(plotHistory(history), 'words'));
  assert.equal(out, 'Figure(800x500 "Training curves")\nwords', 'outside a notebook: one line each');
});

test('graph model summaries display as HTML tables with a "Connected to" column; the summary stays plain data', async () => {
  const x = input([1, 8, 8], { name: 'img' });
  const a = new Conv2d(1, 2, 3, { padding: 'same' }).apply(x);
  const b = new Conv2d(1, 2, 3, { padding: 'same' }).apply(x);
  const model = new GraphModel({ inputs: x, outputs: add(a, b), name: 'two<branches>' });
  const summary = model.summary({ print: false });
  const html = (await mimeBundle(summary))['text/html']!;
  assert.match(html, /Model: "two&lt;branches&gt;"/);
  assert.match(html, /<th[^>]*>Connected to<\/th>/);
  assert.match(html, /conv2d\[0\]\[0\], conv2d_1\[0\]\[0\]/);
  assert.deepEqual(Object.keys(summary).sort(), ['rows', 'text', 'totalParameters', 'trainableParameters'], 'the display method is not an enumerable field');
});
