import test from 'node:test';
import assert from 'node:assert/strict';
import { DataLoader, TensorDataset } from '../../src/data/index.js';
import { Learner, batchToDevice } from '../../src/learn/index.js';
import { SGD } from '../../src/optim/index.js';
import { checkDevice, cudaAvailable, dispose, manualSeed, maxAbsDiff, randint, randn, runtimeInfo, tidy } from '../../src/tensor/index.js';
import { mnistCnn } from '../../src/vision/simple.js';
import { cnnWithoutDropout } from './fixtures.js';

const NO_GPU = cudaAvailable() ? undefined : 'no CUDA device (Kestrel is built against a CPU-only libtorch, or no GPU is visible)';

function data(n: number): TensorDataset {
  return tidy(() => new TensorDataset(randn([n, 1, 28, 28]), randint(0, 10, [n]).long()));
}

test('device checks name what is missing, and cpu is the default', () => {
  assert.equal(checkDevice('cpu'), 'cpu');
  assert.throws(() => checkDevice('gpu', 'Learner device'), /Learner device: unknown device 'gpu' \(use cpu, cuda or cuda:N\)/);
  assert.throws(() => checkDevice('cuda:x'), /unknown device 'cuda:x'/);
  const info = runtimeInfo();
  if (!info.cudaAvailable) {
    assert.throws(() => checkDevice('cuda'), /'cuda' is not available: .*KESTREL_LIBTORCH=/);
    assert.throws(() => new Learner(mnistCnn(), { train: new DataLoader(data(4), { batchSize: 2 }) }, { device: 'cuda:0' }), /Learner device: 'cuda:0' is not available/);
  } else {
    assert.throws(() => checkDevice(`cuda:${info.cudaDevices}`), /does not exist: \d+ GPUs? visible/);
  }
  const model = mnistCnn();
  const params = model.parameters();
  const before = params.map((p) => p.toList());
  assert.equal(model.to('cpu'), model);
  assert.deepEqual(model.parameters(), params, 'the same Parameter objects');
  assert.deepEqual(params.map((p) => p.toList()), before);
  const learn = new Learner(model, { train: new DataLoader(data(4), { batchSize: 2 }) }, { progress: false });
  assert.equal(learn.device, 'cpu');
  const batch = { x: randn([2, 1, 28, 28]), y: randint(0, 10, [2]).long() };
  assert.equal(batchToDevice(batch, 'cpu'), batch, 'no copy on the CPU');
  dispose([batch, model]);
});

test('on a GPU: training mnist-cnn on cuda matches the CPU run, with pinned-memory batches', { skip: NO_GPU }, async () => {
  const train = data(128);
  const run = async (device: string) => {
    manualSeed(3);
    // NOTE: dropout draws differ between the CPU and CUDA generators; compare without it.
    const model = cnnWithoutDropout();
    const learn = new Learner(model, { train: new DataLoader(train, { batchSize: 32 }), valid: new DataLoader(train, { batchSize: 64 }) }, {
      device, progress: false, optimizer: (params, lr) => new SGD(params, { lr }),
    });
    const [record] = await learn.fit(1, 0.05);
    assert.ok(model.parameters().every((p) => p.device.startsWith(device)), `parameters on ${device}`);
    const probs = learn.predict(train.getBatch(Int32Array.from([0, 1])).x);
    assert.ok(probs.device.startsWith(device));
    const weights = model.parameters().map((p) => p.toDevice('cpu'));
    dispose([probs, model]);
    return { record, weights };
  };
  const cpu = await run('cpu');
  const gpu = await run('cuda');
  assert.ok(Math.abs(cpu.record.trainLoss - gpu.record.trainLoss) < 1e-3);
  assert.equal(gpu.record.accuracy, cpu.record.accuracy);
  cpu.weights.forEach((w, i) => assert.ok(tidy(() => maxAbsDiff(w, gpu.weights[i])) < 1e-3));
  const moved = batchToDevice(train.getBatch(Int32Array.from([0, 1, 2])), 'cuda');
  assert.ok(moved.x.device.startsWith('cuda') && moved.y.device.startsWith('cuda'));
  dispose([moved, cpu.weights, gpu.weights, train]);
});
