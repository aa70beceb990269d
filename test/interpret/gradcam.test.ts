import test from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveAvgPool2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential, Softmax } from '../../src/nn/index.js';
import { type Tensor, dispose, manualSeed, memory, randn, tensor, tidy } from '../../src/tensor/index.js';
import { DataLoader, TensorDataset } from '../../src/data/index.js';
import { Learner } from '../../src/learn/index.js';
import { Adam } from '../../src/optim/index.js';
import { mnistCnn } from '../../src/vision/simple.js';
import { resnet18 } from '../../src/vision/resnet.js';
import { gradCam, lastSpatialLayer } from '../../src/interpret/index.js';
import { assertClose, runTorch, skipWithoutTorch } from '../helpers/torch.js';

function smallCnn(seed: number): Sequential {
  manualSeed(seed);
  return new Sequential(
    new Conv2d(1, 8, 3, { padding: 'same' }), new ReLU(), new MaxPool2d(2),
    new Conv2d(8, 16, 3, { padding: 'same' }), new ReLU(),
    new AdaptiveAvgPool2d(1), new Flatten(), new Linear(16, 2),
  );
}

test('gradCam equals a PyTorch Grad-CAM (hooks on the same layer, same weights)', { skip: skipWithoutTorch() }, () => {
  const model = smallCnn(3);
  manualSeed(4);
  const x = randn([3, 1, 16, 16]);
  const result = gradCam(model, x, { layer: '3', classIndex: [0, 1, 1] });
  const inputs: Record<string, Tensor> = { x };
  for (const [name, p] of model.namedParameters()) inputs[name.replace('.', '_')] = p;
  const ref = runTorch(`
    import torch.nn as nn, torch.nn.functional as F
    m = nn.Sequential(nn.Conv2d(1, 8, 3, padding='same'), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding='same'), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 2))
    with torch.no_grad():
        for name, p in m.named_parameters(): p.copy_(inp[name.replace('.', '_')])
    m.eval()
    store = {}
    def keep(mod, i, o):
        o.retain_grad(); store['a'] = o
    m[3].register_forward_hook(keep)
    scores = m(inp['x'])
    scores.gather(1, torch.tensor([[0], [1], [1]])).sum().backward()
    a = store['a']
    w = a.grad.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((w * a).sum(1))
    up = F.interpolate(cam.unsqueeze(1), size=(16, 16), mode='bilinear', align_corners=False).squeeze(1)
    out['cam'] = cam.detach()
    out['heat'] = (up / up.flatten(1).max(1).values.clamp(min=1e-12).view(-1, 1, 1)).clamp(0, 1).detach()
  `, inputs);
  try {
    assert.equal(result.layer, '3');
    assertClose(result.cam, ref.cam, { rtol: 1e-4, atol: 1e-6, label: 'cam' });
    assertClose(result.heatmap, ref.heat, { rtol: 1e-4, atol: 1e-5, label: 'heatmap' });
  } finally {
    dispose([x, result.heatmap, result.cam, ref]);
    model.dispose();
  }
});

/** 32x32 noise; in the top-left quadrant horizontal (class 0) or vertical (class 1) stripes decide the class. */
function quadrantData(n: number, seed: number): TensorDataset {
  manualSeed(seed);
  return tidy(() => {
    const labels = randn([n]).gt(0).long();
    const y = Array.from(labels.toArray() as BigInt64Array, Number);
    const stripes = new Float32Array(n * 32 * 32);
    for (let i = 0; i < n; i++) {
      for (let r = 0; r < 16; r++) for (let c = 0; c < 16; c++) {
        const on = y[i] === 0 ? Math.floor(r / 2) % 2 === 0 : Math.floor(c / 2) % 2 === 0;
        stripes[i * 1024 + (r + 2) * 32 + c + 2] = on ? 1.2 : -1.2;
      }
    }
    const images = randn([n, 1, 32, 32]).mul(0.6).add(tensor(stripes, [n, 1, 32, 32]));
    return new TensorDataset(images, labels, { classes: ['horizontal', 'vertical'] });
  });
}

test('Grad-CAM of a model trained where only the top-left quadrant decides puts most heat there', async () => {
  const train = quadrantData(320, 11);
  const valid = quadrantData(64, 12);
  const model = smallCnn(5);
  const learn = new Learner(model, { train: new DataLoader(train, { batchSize: 32, shuffle: true, seed: 1 }), valid: new DataLoader(valid, { batchSize: 64 }) },
    { progress: false, optimizer: (params, lr) => new Adam(params, { lr }) });
  await learn.fit(3, 5e-3);
  assert.ok(learn.history.at(-1)!.metrics.accuracy > 0.95, `the model learned the task (accuracy ${learn.history.at(-1)!.metrics.accuracy})`);
  const gradSums = () => tidy(() => model.parameters().map((p) => p.grad?.abs().sum().item() ?? 0));
  const gradsBefore = gradSums();
  const before = memory().liveTensors;
  const batch = valid.getBatch(Int32Array.from({ length: 64 }, (_, i) => i));
  const result = gradCam(model, batch.x);
  try {
    assert.equal(result.layer, '4', 'default layer: the last with a spatial output (the ReLU before global pooling)');
    assert.deepEqual(result.heatmap.shape, [64, 32, 32]);
    const heat = result.heatmap.toArray() as Float32Array;
    let inside = 0; let total = 0;
    for (let i = 0; i < 64; i++) for (let r = 0; r < 32; r++) for (let c = 0; c < 32; c++) {
      const v = heat[i * 1024 + r * 32 + c];
      total += v;
      if (r < 16 && c < 16) inside += v;
    }
    const share = inside / total;
    assert.ok(share > 0.6, `heat in the deciding quadrant: ${(100 * share).toFixed(1)}% (a quarter would be chance)`);
    assert.ok(model.parameters().every((p) => p.requiresGrad), 'parameters still require gradients after gradCam');
  } finally {
    dispose([batch, result.heatmap, result.cam]);
  }
  assert.equal(memory().liveTensors, before, 'gradCam frees its intermediates');
  assert.deepEqual(gradSums(), gradsBefore, 'parameter gradients are left as they were');
  train.dispose(); valid.dispose(); model.dispose();
});

test('gradCam picks the class score before a final Softmax; default layers of mnist-cnn and ResNet; clear errors', () => {
  const cnn = mnistCnn(10);
  const x = tidy(() => randn([2, 1, 28, 28]));
  assert.equal(lastSpatialLayer(cnn, x), '5', 'mnist-cnn: the second max-pool');
  const withSoftmax = new Sequential(...(cnn as unknown as { [i: number]: Conv2d }[] & Sequential).namedChildren().map(([, m]) => m) as never[], new Softmax(1));
  const a = gradCam(cnn, x, { classIndex: 3 });
  const b = gradCam(withSoftmax, x, { classIndex: 3 });
  assertClose(b.heatmap, a.heatmap, { label: 'Softmax skipped' });
  assert.deepEqual(a.predicted, b.predicted);
  assert.throws(() => gradCam(cnn, x, { layer: 'nope' }), /no layer named 'nope' in Sequential; layers: 0, 1, 2/);
  assert.throws(() => gradCam(cnn, x, { layer: '7' }), /layer '7' gives \[2, 128\]; Grad-CAM needs a spatial/);
  assert.throws(() => gradCam(cnn, x, { classIndex: 10 }), /class index 10 out of range for 10 classes/);
  const mlp = new Sequential(new Flatten(), new Linear(784, 10));
  assert.throws(() => gradCam(mlp, x), /has no layer with a spatial \[N, C, H, W\] output/);
  const resnet = resnet18(4);
  const image = tidy(() => randn([1, 3, 64, 64]));
  assert.equal(lastSpatialLayer(resnet, image), 'layer4.1', 'ResNet-18: the last block');
  dispose([x, image, a.heatmap, a.cam, b.heatmap, b.cam]);
  cnn.dispose(); mlp.dispose(); resnet.dispose();
});

test('gradCam on a graph model (functional API): layers by name, same heatmaps as the Sequential with the same weights', async () => {
  const nn = await import('../../src/nn/index.js');
  const seq = smallCnn(9);
  const x = tidy(() => randn([2, 1, 16, 16]));
  const children = seq.namedChildren().map(([, m]) => m);
  const input = nn.input([1, 16, 16]);
  let h = children[0].named('conv1').apply(input);
  h = children[1].named('relu1').apply(h);
  h = children[2].named('pool').apply(h);
  h = children[3].named('conv2').apply(h);
  h = children[4].named('relu2').apply(h);
  h = children[5].named('gap').apply(h);
  h = children[6].named('flatten').apply(h);
  const graph = new nn.GraphModel({ inputs: input, outputs: children[7].named('head').apply(h) });
  const fromGraph = gradCam(graph, x, { classIndex: 1 });
  const fromSeq = gradCam(seq, x, { classIndex: 1 });
  try {
    assert.equal(fromGraph.layer, 'relu2', 'the default layer, by its graph name');
    assertClose(fromGraph.heatmap, fromSeq.heatmap, { label: 'graph vs sequential heatmap' });
    const named = gradCam(graph, x, { layer: 'conv2', classIndex: 1 });
    assert.equal(named.layer, 'conv2');
    dispose([named.heatmap, named.cam]);
  } finally {
    dispose([x, fromGraph.heatmap, fromGraph.cam, fromSeq.heatmap, fromSeq.cam]);
    seq.dispose();
  }
});
