import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Recorder, type EpochRecord, type LrFindResult } from '../../src/learn/index.js';
import { SGD } from '../../src/optim/index.js';
import { linearTicks, logTicks, plotHistory, plotLrFind, plotLrSchedule, renderChart } from '../../src/interpret/index.js';
import { blobLearner } from '../learn/fixtures.js';


const OUT = process.env.KESTREL_PLOT_DIR;

function outDir(): string { return OUT ?? mkdtempSync(join(tmpdir(), 'kestrel-plots-')); }

/** Counts pixels close to an RGB colour. */
async function countColour(path: string, [r, g, b]: [number, number, number]): Promise<number> {
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  let n = 0;
  for (let i = 0; i < data.length; i += info.channels) if (Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 60) n++;
  return n;
}

test('tick generators: nice linear steps and log decades', () => {
  assert.deepEqual(linearTicks(0.13, 0.97).ticks.map((v) => +v.toFixed(10)), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(linearTicks(2, 2).ticks.length > 1, true, 'a flat series still gets a range');
  const log = logTicks(3e-7, 4);
  assert.deepEqual(log.ticks.map((v) => Math.round(Math.log10(v))), [-7, -6, -5, -4, -3, -2, -1, 0, 1]);
  assert.equal(log.minor.length, 8 * 8);
  assert.throws(() => logTicks(0, 1), /log axis needs positive values/);
});

test('plotLrFind draws a log-x loss curve with the suggestions marked; plotLrSchedule the one-cycle curve', async () => {
  const dir = outDir();
  try {
    const result: LrFindResult = await blobLearner().lrFind();
    const { lrs, losses } = result;
    const path = await plotLrFind(result, join(dir, 'lr-find.png'));
    const meta = await sharp(path).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 800, 500]);
    assert.ok(await countColour(path, [31, 119, 180]) > 500, 'the blue curve is drawn');
    assert.ok(await countColour(path, [214, 39, 40]) > 30, 'the red valley mark is drawn');
    const svg = await renderChart({ title: 'T', x: { label: 'lr', log: true }, y: { label: 'loss' }, series: [{ x: lrs, y: losses, label: 's', color: 'red' }] });
    // log ticks read 10ⁿ (exponent as superscript), as matplotlib draws them; minor ticks carry no label
    assert.match(svg, />10⁻⁷</);
    assert.match(svg, />10⁰</);
    assert.doesNotMatch(svg, />2e-7</);

    const recorder = new Recorder();
    const learn = blobLearner({ callbacks: [recorder], optimizer: (params, lr) => new SGD(params, { lr, momentum: 0.9 }) });
    await learn.fitOneCycle(3, 0.1);
    const schedule = await plotLrSchedule(recorder.lrs, join(dir, 'lr-schedule.png'), { moms: recorder.moms });
    assert.equal((await sharp(schedule).metadata()).width, 800);
    assert.ok(await countColour(schedule, [255, 127, 14]) > 200, 'the orange momentum curve is drawn');
  } finally {
    if (!OUT) rmSync(dir, { recursive: true, force: true });
  }
});

test('plotHistory draws train/valid loss and accuracy on twin axes', async () => {
  const dir = outDir();
  try {
    // a typical run: train loss falls, valid loss turns up (over-fitting), accuracy rises then flattens
    const history = Array.from({ length: 12 }, (_, i): EpochRecord => {
      const accuracy = 0.93 - 0.25 * Math.exp(-i / 2.5);
      return { epoch: i + 1, trainLoss: 0.2 + 0.8 * Math.exp(-i / 3), validLoss: 0.35 + 0.6 * Math.exp(-i / 2.5) + 0.01 * i ** 1.5 / 3, seconds: 1, samplesPerSecond: 1, lr: 0.1, metrics: { accuracy }, accuracy };
    });
    const path = await plotHistory(history, join(dir, 'history.png'));
    assert.equal((await sharp(path).metadata()).height, 500);
    for (const colour of [[31, 119, 180], [255, 127, 14], [44, 160, 44]] as [number, number, number][]) {
      assert.ok(await countColour(path, colour) > 100, `colour ${colour} drawn`);
    }
    assert.throws(() => plotHistory([], join(dir, 'none.png')), /needs at least one epoch record/);
  } finally {
    if (!OUT) rmSync(dir, { recursive: true, force: true });
  }
});
