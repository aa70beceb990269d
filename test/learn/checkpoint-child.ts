/**
 * Child process of the checkpoint kill test: saves checkpoints in a loop, each with every weight
 * equal to its number, printing `saving N` and `saved N`; the parent SIGKILLs it mid-save.
 */
import { Learner, saveCheckpoint } from '../../src/learn/index.js';
import { Linear, Sequential } from '../../src/nn/index.js';
import { Adam } from '../../src/optim/index.js';
import { noGrad, randn, tidy } from '../../src/tensor/index.js';
import { TensorBatches } from './fixtures.js';

/** A learner whose checkpoints are a few tens of MB (so a save takes a while). */
export function bigLearner(): Learner {
  const data = tidy(() => new TensorBatches(randn([4, 1000]), randn([4, 1000]), 4));
  const model = new Sequential(new Linear(1000, 1000), new Linear(1000, 1000));
  return new Learner(model, { train: data }, { progress: false, metrics: [], optimizer: (params, lr) => new Adam(params, { lr }) });
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  const learn = bigLearner();
  await learn.fit(1, 1e-3); // Adam now has moments: the checkpoint holds optimizer tensors too
  for (let n = 1; ; n++) {
    noGrad(() => { for (const p of learn.model.parameters()) p.fill_(n); });
    learn.history.splice(0, learn.history.length, { ...learn.history[0], epoch: n });
    process.stdout.write(`saving ${n}\n`);
    saveCheckpoint(learn, dir);
    process.stdout.write(`saved ${n}\n`);
  }
}

if (process.argv[2]) void main();
