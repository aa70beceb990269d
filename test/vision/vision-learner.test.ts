import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataLoader, TensorDataset } from '../../src/data/index.js';
import { type Callback, Checkpoint, FINE_TUNE_STAGES, Recorder, loadCheckpoint } from '../../src/learn/index.js';
import { AvgPool2d, BatchNorm2d, Conv2d, Flatten, GraphModel, Linear, type Module, ReLU, input } from '../../src/nn/index.js';
import { type Tensor, dispose, keep, manualSeed, maxAbsDiff, memory, noGrad, randint, randn, tidy } from '../../src/tensor/index.js';
import { AdaptiveConcatPool2d, PrecomputeSource, createHead, visionLearner } from '../../src/vision/index.js';
import { resnet50 } from '../../src/vision/resnet.js';
import { assertClose, runTorch, skipWithoutTorch } from '../helpers/torch.js';

/** Random images [n, 3, size, size] with labels in 0..2, as a DataLoader. */
function images(n: number, size: number, seed: number, options: { shuffle?: boolean; batchSize?: number } = {}): DataLoader {
  manualSeed(seed);
  const x = randn([n, 3, size, size]);
  const y = randint(0, 3, [n], { dtype: 'int64' });
  return new DataLoader(new TensorDataset(x, y, { classes: ['a', 'b', 'c'] }), { batchSize: options.batchSize ?? 4, shuffle: options.shuffle ?? false, seed: 1 });
}

const snapshot = (model: Module): Map<string, Tensor> => new Map([...model.stateDict()].map(([k, t]) => [k, keep(tidy(() => t.clone()))]));
const changed = (model: Module, before: Map<string, Tensor>): string[] =>
  [...model.stateDict()].filter(([k, t]) => maxAbsDiff(t, before.get(k)!) !== 0).map(([k]) => k);

test('createHead is fastai\'s create_head: layers, shapes, options, seeded init and eval output equal a PyTorch rewrite', { skip: skipWithoutTorch() }, () => {
  manualSeed(7);
  const x = randn([2, 256, 4, 4]);
  const ref = runTorch(`
import torch.nn as nn
class AdaptiveConcatPool2d(nn.Module):
    def __init__(self):
        super().__init__()
        self.ap, self.mp = nn.AdaptiveAvgPool2d(1), nn.AdaptiveMaxPool2d(1)
    def forward(self, x): return torch.cat([self.mp(x), self.ap(x)], 1)
def BatchNorm(nf):
    bn = nn.BatchNorm1d(nf)
    bn.bias.data.fill_(1e-3)
    bn.weight.data.fill_(1.)
    return bn
torch.manual_seed(0)
head = nn.Sequential(AdaptiveConcatPool2d(), nn.Flatten(), BatchNorm(512), nn.Dropout(0.25), nn.Linear(512, 512, bias=False),
                     nn.ReLU(inplace=True), BatchNorm(512), nn.Dropout(0.5), nn.Linear(512, 10, bias=False))
for m in head.modules():
    if isinstance(m, nn.Linear): nn.init.kaiming_normal_(m.weight)
for k, v in head.state_dict().items(): out[k] = v
with torch.no_grad():
    out['y'] = head.eval()(inp['x'])
`, { x });
  manualSeed(0);
  const head = createHead(256, 10);
  assert.deepEqual(head.layers.map((l) => l.constructor.name),
    ['AdaptiveConcatPool2d', 'Flatten', 'BatchNorm1d', 'Dropout', 'Linear', 'ReLU', 'BatchNorm1d', 'Dropout', 'Linear']);
  assert.deepEqual([...head.stateDict()].map(([k, t]) => [k, t.shape]), Object.keys(ref).filter((k) => k !== 'y').map((k) => [k, ref[k].shape]));
  for (const [k, t] of head.stateDict()) assert.equal(maxAbsDiff(t, ref[k]), 0, k);
  noGrad(() => tidy(() => assertClose(head.eval().forward(x), ref.y, { rtol: 1e-5, atol: 1e-5, label: 'head output' })));

  const custom = createHead(64, 3, { linFtrs: [128, 32], ps: 0.4, concatPool: false });
  assert.deepEqual(custom.layers.map((l) => `${l.constructor.name}(${l.extraRepr()})`), [
    'AdaptiveAvgPool2d(output=1)', 'Flatten()', 'BatchNorm1d(64, eps=0.00001, momentum=0.1)', 'Dropout(p=0.2)', 'Linear(64 -> 128, bias=false)', 'ReLU()',
    'BatchNorm1d(128, eps=0.00001, momentum=0.1)', 'Dropout(p=0.2)', 'Linear(128 -> 32, bias=false)', 'ReLU()',
    'BatchNorm1d(32, eps=0.00001, momentum=0.1)', 'Dropout(p=0.4)', 'Linear(32 -> 3, bias=false)',
  ]);
  const bare = createHead(8, 2, { ps: 0, firstBn: false, linFtrs: [] });
  assert.deepEqual(bare.layers.map((l) => l.constructor.name), ['AdaptiveConcatPool2d', 'Flatten', 'Linear']);
  assert.ok((bare[2] as Linear).bias, 'a linear layer without batch norm before it keeps its bias');
  assert.throws(() => createHead(8, 2, { ps: [0.1] }), /ps has 1 values for 2 linear layers/);
  tidy(() => assert.deepEqual(new AdaptiveConcatPool2d().forward(randn([2, 5, 3, 3])).shape, [2, 10, 1, 1]));
  dispose([x, ref]);
  for (const m of [head, custom, bare]) m.dispose();
});

test('visionLearner(resnet18, pretrained): torchvision weights in the body (fc ignored), names, 3 groups, body frozen but batch norm', { skip: skipWithoutTorch() }, () => {
  const ref = runTorch(`
import torchvision
torch.manual_seed(0)
for k, v in torchvision.models.resnet18().state_dict().items(): out[k] = v
`);
  const weights = new Map(Object.entries(ref));
  const learn = visionLearner({ train: images(8, 32, 1) }, 'resnet18', { pretrained: weights, progress: false });
  for (const [k, t] of learn.model.body.stateDict()) assert.equal(maxAbsDiff(t, weights.get(k)!), 0, k);
  const names = [...learn.model.stateDict().keys()];
  assert.equal(names[0], 'body.conv1.weight');
  assert.ok(names.includes('body.layer4.1.bn2.running_var'));
  assert.ok(!names.some((n) => n.includes('fc')));
  assert.deepEqual(names.filter((n) => n.startsWith('head.')), [
    'head.2.weight', 'head.2.bias', 'head.2.running_mean', 'head.2.running_var', 'head.2.num_batches_tracked', 'head.4.weight',
    'head.6.weight', 'head.6.bias', 'head.6.running_mean', 'head.6.running_var', 'head.6.num_batches_tracked', 'head.8.weight',
  ]);
  assert.deepEqual(learn.model.head[8].extraRepr(), '512 -> 3, bias=false');
  assert.deepEqual(learn.parameterGroups().map((g) => g.length), [30, 30, 6]);
  assert.equal(learn.frozenIdx, 2);
  const trainable = learn.model.namedParameters().filter(([, p]) => p.requiresGrad).map(([n]) => n);
  assert.ok(trainable.every((n) => n.startsWith('head.') || /\.bn\d\.|downsample\.1\./.test(n)), 'only batch norm trains in the body');
  assert.equal(trainable.filter((n) => n.startsWith('body.')).length, 40);
  assert.deepEqual(learn.architecture, { base: 'resnet18', numClasses: 3 });
  const built = visionLearner({ train: images(4, 32, 1) }, resnet50(), { nOut: 2, progress: false });
  assert.deepEqual(built.architecture, { base: 'resnet50', numClasses: 2 }, 'a stock ResNet passed in rebuilds by name');
  assert.equal(built.frozenIdx, 2, 'a model passed in counts as pretrained');
  built.model.dispose();

  const warnings: string[] = [];
  const unnormalised = Object.assign(images(4, 32, 1), { normalization: null });
  visionLearner({ train: unnormalised }, 'resnet18', { pretrained: weights, log: (m) => warnings.push(m) }).model.dispose();
  assert.match(warnings.join('\n'), /normalised with no statistics, but resnet18's pretrained weights expect ImageNet's .*normalize: 'imagenet'/);

  const broken = new Map(weights);
  broken.delete('layer1.0.conv1.weight');
  broken.set('layer9.weight', weights.get('fc.bias')!);
  assert.throws(() => visionLearner({ train: images(4, 32, 1) }, 'resnet18', { pretrained: broken, progress: false }),
    /cannot load the pretrained weights into the body: cannot load state dict into NamedSequential:\n {2}missing layer1\.0\.conv1\.weight\n {2}unexpected layer9\.weight/);
  assert.throws(() => visionLearner({ train: images(4, 32, 1) }, 'resnet34', { pretrained: weights, progress: false }), /missing layer1\.2\.conv1\.weight/);
  assert.throws(() => visionLearner({ train: images(4, 32, 1) }, 'resnet18', { pretrained: 'model.pth' }), /only \.safetensors files are read here/);
  assert.throws(() => visionLearner({ train: images(4, 32, 1) }, 'vgg16'), /unknown architecture 'vgg16' \(known: resnet18, resnet34, resnet50, mobilenet_v2\)/);
  dispose(ref);
  learn.model.dispose();
});

test('a step of a frozen visionLearner changes batch-norm tensors and the head only; every other body tensor stays', async () => {
  const learn = visionLearner({ train: images(8, 32, 2) }, 'resnet18', { freeze: true, progress: false });
  const before = snapshot(learn.model);
  const it = learn.data.train[Symbol.asyncIterator]();
  const { value } = await it.next();
  learn.step(value.x, value.y);
  dispose(value);
  const moved = changed(learn.model, before);
  const body = [...learn.model.body.stateDict().keys()].map((k) => `body.${k}`);
  const bn = body.filter((k) => /\.(bn\d|downsample\.1)\.(weight|bias|running_mean|running_var|num_batches_tracked)$/.test(k));
  assert.deepEqual(moved.filter((k) => k.startsWith('body.')).sort(), bn.sort(), 'in the body exactly the batch-norm tensors change');
  assert.equal(bn.length, 20 * 5);
  assert.deepEqual(moved.filter((k) => k.startsWith('head.')).sort(), [...learn.model.head.stateDict().keys()].map((k) => `head.${k}`).sort());
  dispose([...before.values()]);
  learn.model.dispose();
});

test('precompute: cached features give the full forward pass\'s outputs (eval), the head trains on them, the body is untouched, unfreeze returns to images', async () => {
  const messages: string[] = [];
  const data = { train: images(12, 32, 3, { shuffle: true }), valid: images(6, 32, 4) };
  const learn = visionLearner(data, 'resnet18', { freeze: true, precompute: true, progress: false, log: (m) => messages.push(m) });
  assert.ok(learn.precompute);
  await learn.prepareFeatures();
  const valid = learn.data.valid as unknown as PrecomputeSource;
  assert.ok(valid instanceof PrecomputeSource);
  assert.deepEqual(valid.featureShape, [1024, 1, 1]);
  assert.ok(messages.some((m) => /cached 12 training features of \[1024, 1, 1\] \(1,024 floats each, 0\.0 MiB\)/.test(m)), messages.join('\n'));
  learn.model.eval();
  const fromFeatures: Tensor[] = [];
  for await (const batch of valid) { fromFeatures.push(keep(noGrad(() => learn.model.forward(batch.x)))); dispose(batch); }
  const fromImages: Tensor[] = [];
  for await (const batch of data.valid) { fromImages.push(keep(noGrad(() => learn.model.forward(batch.x)))); dispose(batch); }
  fromFeatures.forEach((t, i) => assertClose(t, fromImages[i], { rtol: 1e-5, atol: 1e-5, label: `valid batch ${i}` }));
  dispose([...fromFeatures, ...fromImages]);

  const before = snapshot(learn.model);
  const recorder = new Recorder();
  await learn.fit(2, 1e-2, { callbacks: [recorder] });
  assert.equal(recorder.losses.length, 6);
  assert.ok(recorder.losses.every(Number.isFinite));
  const moved = changed(learn.model, before);
  assert.ok(moved.length > 0 && moved.every((k) => k.startsWith('head.')), `only the head changes: ${moved.slice(0, 3).join(', ')}`);
  dispose([...before.values()]);

  const live = memory().liveTensors;
  learn.unfreeze();
  assert.equal(learn.precompute, false);
  assert.equal(learn.data.train, data.train);
  assert.equal(learn.model.featureShape, null);
  assert.ok(memory().liveTensors <= live - 4, 'the cached features are freed');
  assert.throws(() => learn.setPrecompute(true), /precompute needs a frozen body \(call freeze\(\) first\); trainable: body\.conv1\.weight/);
  learn.model.dispose();
});

/** A small Keras-style graph model: two conv-bn-relu stages, 8x8 average pooling to 1x1, flatten, a 5-way classifier. */
function tinyGraph(seed: number): GraphModel {
  manualSeed(seed);
  const x = input([3, 16, 16]);
  let h = new ReLU().named('relu1').apply(new BatchNorm2d(8).named('bn1').apply(new Conv2d(3, 8, 3, { padding: 1 }).named('conv1').apply(x)));
  h = new ReLU().named('relu2').apply(new BatchNorm2d(16).named('bn2').apply(new Conv2d(8, 16, 3, { stride: 2, padding: 1 }).named('conv2').apply(h)));
  const pooled = new Flatten().named('flatten').apply(new AvgPool2d(8).named('pool').apply(h));
  const logits = new Linear(16, 5).named('fc').apply(pooled);
  return new GraphModel({ inputs: x, outputs: logits });
}

test('mobilenet_v2 and graph models: bodies cut where the metadata says, three groups', () => {
  const mobile = visionLearner({ train: images(4, 32, 5) }, 'mobilenet_v2', { progress: false });
  const groups = mobile.parameterGroups();
  // features[:7]: stem 3, block 1 (no expansion) 6, five expanding blocks 9 each; features[7:]: 11 blocks and the last conv
  assert.deepEqual(groups.map((g) => g.length), [3 + 6 + 5 * 9, 11 * 9 + 3, 6]);
  assert.equal(mobile.frozenIdx, 0, 'not pretrained: nothing frozen');
  assert.ok(mobile.model.namedParameters()[0][0] === 'body.features.0.0.weight');
  assert.equal(mobile.model.head[2].extraRepr(), '2560, eps=0.00001, momentum=0.1');
  tidy(() => assert.deepEqual(noGrad(() => mobile.model.eval().forward(randn([2, 3, 32, 32]))).shape, [2, 3]));
  mobile.model.dispose();

  const graph = tinyGraph(1);
  const learn = visionLearner({ train: images(4, 16, 6) }, graph, { progress: false });
  assert.deepEqual(learn.model.body.stateDict().size, graph.stateDict().size - 2, 'fc is cut off');
  assert.deepEqual(learn.parameterGroups().map((g) => g.length), [4, 4, 6]);
  assert.equal(learn.frozenIdx, 2, 'a model passed in counts as pretrained');
  assert.equal(learn.model.head[2].extraRepr(), '32, eps=0.00001, momentum=0.1');
  assert.equal(learn.architecture, undefined);
  tidy(() => assert.deepEqual(noGrad(() => learn.model.eval().forward(randn([2, 3, 16, 16]))).shape, [2, 3]));
  const cutEarly = visionLearner({ train: images(4, 16, 6) }, graph, { cut: 'relu1', progress: false });
  assert.equal(cutEarly.model.head[2].extraRepr(), '16, eps=0.00001, momentum=0.1');
  assert.throws(() => visionLearner({ train: images(4, 16, 6) }, graph, { cut: 2 }), /cut a graph model at a layer name/);
  learn.model.dispose();
});

test('resume with precompute: fineTune interrupted in its precomputed frozen stage and resumed equals the uninterrupted run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-pre-'));
  const build = (callbacks: Callback[] = []) => {
    const graph = tinyGraph(3);
    const data = { train: images(12, 16, 8, { shuffle: true }), valid: images(4, 16, 9) };
    return visionLearner(data, graph, { precompute: true, progress: false, callbacks });
  };
  try {
    manualSeed(4);
    const straight = build();
    await straight.fineTune(1, 1e-2, { freezeEpochs: 2 });
    const expected = snapshot(straight.model);

    manualSeed(4);
    const crash: Callback = { order: 90, afterEpoch: (l) => { if (l.stage === FINE_TUNE_STAGES.frozen && l.epoch === 0) throw new Error('crash'); } };
    await assert.rejects(build([new Checkpoint(dir), crash]).fineTune(1, 1e-2, { freezeEpochs: 2 }), /crash/);

    manualSeed(77);
    const resumed = build();
    const info = loadCheckpoint(resumed, dir);
    assert.ok(resumed.precompute);
    await resumed.fineTune(1, 1e-2, { freezeEpochs: 2, resume: info });
    assert.equal(resumed.precompute, false);
    for (const [name, t] of resumed.model.stateDict()) assert.equal(maxAbsDiff(t, expected.get(name)!), 0, name);
    assert.deepEqual(resumed.history.map((r) => r.trainLoss), straight.history.map((r) => r.trainLoss));
    dispose([...expected.values()]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
