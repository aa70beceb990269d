/**
 * Child process of the data-parallel tests: trains a dropout-free mnist-cnn for STEPS SGD steps on the bundled sample,
 * alone (whole batches) or as one rank of a group (half batches), and writes the final weights and validation results.
 * Ranks start from different random weights on purpose: DataParallel must copy rank 0's.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DataLoader, Learner, SGD, accuracy, confusionMatrix, destroyProcessGroup, distributedEnv, initProcessGroup, loadSample, manualSeed, saveSafetensors, tidy,
} from '../../src/index.js';
import { cnnWithoutDropout } from './fixtures.js';

const steps = Number(process.env.STEPS ?? 20);
const batch = Number(process.env.BATCH ?? 32);
const out = process.env.OUT!;
const env = distributedEnv();
const group = env ? await initProcessGroup() : null;
const rank = group?.rank ?? 0;
const worldSize = group?.worldSize ?? 1;

manualSeed(7 + rank);
const model = cnnWithoutDropout();
const all = loadSample({ split: 'train' });
const train = tidy(() => all.subset(Int32Array.from({ length: steps * batch }, (_, i) => i)));
const valid = loadSample({ split: 'test' });
const learn = new Learner(model, {
  train: new DataLoader(train, { batchSize: batch / worldSize, shuffle: true, seed: 3 }),
  valid: new DataLoader(valid, { batchSize: 100 }),
}, {
  optimizer: (params, lr) => new SGD(params, { lr, momentum: Number(process.env.MOMENTUM ?? 0) }),
  metrics: [accuracy(), confusionMatrix()],
  distributed: group !== null,
  progress: false,
});
const [record] = await learn.fit(1, 0.05);
if (rank === 0) {
  saveSafetensors(join(out, 'weights.safetensors'), model.stateDict());
  writeFileSync(join(out, 'record.json'), JSON.stringify({ trainLoss: record.trainLoss, validLoss: record.validLoss, metrics: record.metrics, iteration: learn.iteration, batches: learn.data.train.length }));
}
await destroyProcessGroup();

