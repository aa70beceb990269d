import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DataLoader, type TensorDataset } from '../../src/data/index.js';
import { Flatten, Linear, ReLU, Sequential, crossEntropy } from '../../src/nn/index.js';
import { SGD } from '../../src/optim/index.js';
import { manualSeed, memory, noGrad, tidy } from '../../src/tensor/index.js';
import { blobs } from './fixtures.js';

// NOTE: this function is the code block of docs/own-loop.md, verbatim (the test below checks that).
/** Trains `model` on `dataset` for `epochs` epochs; returns the mean training loss of each epoch. */
export async function trainByHand(dataset: TensorDataset, epochs: number): Promise<number[]> {
  manualSeed(0);                                                   // same initial weights every run
  const model = new Sequential(new Flatten(), new Linear(4, 16), new ReLU(), new Linear(16, 2));
  const loader = new DataLoader(dataset, { batchSize: 32, shuffle: true, seed: 0 });
  const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  const epochLosses: number[] = [];

  for (let epoch = 0; epoch < epochs; epoch++) {
    model.train();                                                 // dropout / batch-norm in training mode
    let lossSum = 0;
    let samples = 0;
    for await (const { x, y } of loader) {                         // each batch is ours to dispose
      const loss = tidy(() => {                                    // frees every intermediate tensor
        optimizer.zeroGrad();                                      // 1. clear old gradients
        const output = crossEntropy(model.forward(x), y);          // 2. forward pass and loss
        output.backward();                                         // 3. gradients of the loss
        optimizer.step();                                          // 4. update the weights
        return output.item();                                      // a number: no tensor escapes
      });
      lossSum += loss * y.shape[0];
      samples += y.shape[0];
      x.dispose();
      y.dispose();
    }
    epochLosses.push(lossSum / samples);
  }
  model.eval();
  noGrad(() => { /* evaluate here: no graph is recorded */ });
  model.dispose();
  optimizer.dispose();
  return epochLosses;
}

test('the hand-written loop of docs/own-loop.md trains: the loss falls and no tensor leaks', async () => {
  const data = blobs(256, 1);
  const before = memory().liveTensors;
  const losses = await trainByHand(data, 4);
  assert.equal(memory().liveTensors, before);
  assert.equal(losses.length, 4);
  assert.ok(losses[0] > 0.1, `first epoch loss ${losses[0]}`);
  assert.ok(losses[3] < losses[0] / 4, `loss ${losses[0]} -> ${losses[3]}`);
  for (let i = 1; i < 4; i++) assert.ok(losses[i] < losses[i - 1], `epoch ${i + 1} did not improve: ${losses.join(', ')}`);
  data.dispose();
});

test('docs/own-loop.md shows exactly this loop', () => {
  const here = readFileSync(fileURLToPath(new URL('../../../test/learn/own-loop.test.ts', import.meta.url)), 'utf8');
  const doc = readFileSync(fileURLToPath(new URL('../../../docs/own-loop.md', import.meta.url)), 'utf8');
  const block = (text: string) => text.slice(text.indexOf('/** Trains `model`'), text.indexOf('  return epochLosses;\n}') + 24);
  assert.ok(block(doc).length > 500);
  assert.equal(block(doc), block(here));
});
