import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataLoader } from '../../src/data/index.js';
import { type Callback, GracefulStop, Learner, MixUp, loadCheckpoint } from '../../src/learn/index.js';
import { Adam } from '../../src/optim/index.js';
import { type Tensor, manualSeed, maxAbsDiff, tidy } from '../../src/tensor/index.js';
import { blobs, mlp } from './fixtures.js';

function build(initSeed: number, stop: GracefulStop): Learner {
  const train = new DataLoader(blobs(256, 1), { batchSize: 32, shuffle: true, seed: 7 });
  const valid = new DataLoader(blobs(64, 2), { batchSize: 64 });
  return new Learner(mlp(initSeed, 0.3), { train, valid }, {
    progress: false, optimizer: (params, lr) => new Adam(params, { lr }), callbacks: [new MixUp({ alpha: 0.4 }), stop],
  });
}

const weightsOf = (learn: Learner): Record<string, Tensor> => tidy(() => Object.fromEntries([...learn.model.stateDict()].map(([k, t]) => [k, t.clone()])));

test('GracefulStop mid-epoch: fit ends after the batch, the checkpoint resumes to the uninterrupted weights', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-stop-'));
  try {
    manualSeed(5);
    const straight = build(0, new GracefulStop());
    await straight.fitOneCycle(3, 0.02);
    const expected = weightsOf(straight);

    manualSeed(5);
    const stop = new GracefulStop(join(dir, 'ckpt'));
    const first = build(0, stop);
    // the stop button pressed during batch 6 of epoch 2 (iteration 13 of 24)
    const press: Callback = { afterStep: (l) => { if (l.iteration === 13) stop.request('button'); } };
    await first.fitOneCycle(3, 0.02, { callbacks: [press] });
    assert.equal(first.history.length, 1, 'only epoch 1 completed');
    assert.deepEqual([stop.stopped?.epoch, stop.stopped?.batch, stop.stopped?.reason], [2, 6, 'button']);
    assert.ok(stop.stopped?.checkpoint, 'a checkpoint was written');

    manualSeed(77); // a new process: other seed, other initial weights
    const stop2 = new GracefulStop(join(dir, 'ckpt'));
    const resumed = build(3, stop2);
    const info = loadCheckpoint(resumed, join(dir, 'ckpt'));
    assert.equal(info.epoch, 1);
    await resumed.fitOneCycle(3, 0.02, { startEpoch: info.epoch });
    assert.deepEqual(resumed.history.map((r) => r.epoch), [1, 2, 3]);
    assert.equal(resumed.iteration, 24, 'skipped batches count as iterations (the schedule resumes in place)');
    for (const [name, t] of Object.entries(expected)) {
      const diff = maxAbsDiff(t, resumed.model.stateDict().get(name)!);
      assert.ok(diff <= 1e-6, `${name} differs by ${diff}`);
    }
    assert.equal(resumed.history[2].validLoss, straight.history[2].validLoss, 'the final validation is the same');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
