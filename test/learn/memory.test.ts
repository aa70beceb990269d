import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CSVLogger, Checkpoint, EarlyStopping, GradientClipping, MixUp, Recorder, ReduceLROnPlateau, SaveModel, TerminateOnNaN,
  accuracy, confusionMatrix, f1Macro, loadCheckpoint, tta,
} from '../../src/learn/index.js';
import { Adam } from '../../src/optim/index.js';
import { dispose, memory } from '../../src/tensor/index.js';
import { blobLearner, mlp } from './fixtures.js';

test('liveTensors stay flat across fits, lrFind, checkpoints and TTA with every callback on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-mem-'));
  try {
    const learn = blobLearner({
      optimizer: (params, lr) => new Adam(params, { lr }),
      metrics: [accuracy(), f1Macro(), confusionMatrix()],
      callbacks: [
        new Recorder(), new CSVLogger(join(dir, 'log.csv')), new SaveModel({ dir, everyNEpochs: 1 }), new EarlyStopping({ patience: 20 }),
        new ReduceLROnPlateau({ patience: 0 }), new TerminateOnNaN(null), new GradientClipping(1), new MixUp(), new Checkpoint(join(dir, 'ckpt')),
      ],
    }, mlp(0, 0.2));
    await learn.fitOneCycle(1, 0.01); // creates the optimizer and its state
    const start = memory().liveTensors;
    await learn.fitOneCycle(2, 0.01);
    await learn.lrFind({ numIt: 20 });
    await learn.fitSGDR(1, 1);
    await learn.fitFlatCos(1, 0.01);
    loadCheckpoint(learn, join(dir, 'ckpt'));
    const preds = await tta(learn, learn.data.valid!, { flips: true });
    dispose(preds);
    assert.equal(memory().liveTensors, start);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
