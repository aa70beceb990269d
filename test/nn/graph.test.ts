import test from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, arange, manualSeed, noGrad, op, randn, tidy } from '../../src/tensor/index.js';
import {
  AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Flatten, GlobalAvgPool2d, GraphModel, Linear, ReLU, ReLU6, Sigmoid, Tanh, ZeroPad2d, add, concatenate, input, multiply, subgraph,
} from '../../src/nn/index.js';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { assertAllClose, decodeMessage, errorMessage, pythonScript } from '../tensor/parity.js';

/** sin(0), sin(1), ... shaped like `y`: a fixed upstream gradient for both sides. */
function upstream(y: Tensor): Tensor {
  return op('aten::sin', '', [arange(0, y.size, 1, { dtype: 'float32' }).reshape(y.shape).handle]);
}

/** A skip connection, a concatenation, a depthwise conv, asymmetric padding, batch norm (eps 1e-3). */
function skipModel(): GraphModel {
  const x = input([3, 8, 8], { name: 'x' });
  const r = new ReLU6().apply(new BatchNorm2d(4, { eps: 1e-3 }).named('bn').apply(new Conv2d(3, 4, 3, { padding: 1 }).named('stem').apply(x)));
  const joined = concatenate([new Conv2d(4, 4, 3, { padding: 'same' }).apply(r), new Conv2d(4, 2, 1).apply(r)]);
  const sum = add(joined, new Conv2d(4, 6, 1, { bias: false }).apply(r));
  const padded = new ZeroPad2d(0, 1, 0, 1).apply(new Conv2d(6, 6, 3, { groups: 6, padding: 1 }).apply(sum));
  return new GraphModel({ inputs: x, outputs: new Linear(6, 5).apply(new GlobalAvgPool2d().apply(padded)) });
}

/** One Linear applied twice (a shared layer) with the two calls summed. */
function sharedModel(): GraphModel {
  const x = input([6]);
  const shared = new Linear(6, 6).named('shared');
  const h1 = shared.apply(x);
  const h2 = shared.apply(new Tanh().apply(h1));
  return new GraphModel({ inputs: x, outputs: new Linear(6, 3).named('head').apply(add(h1, h2)) });
}

/** Two inputs (an image and a feature vector), a gate, and two outputs. */
function twoInTwoOut(): GraphModel {
  const img = input([3, 6, 6], { name: 'img' });
  const meta = input([4], { name: 'meta' });
  const features = new GlobalAvgPool2d().apply(new Conv2d(3, 5, 3).apply(img));
  const m = new Linear(4, 5).apply(meta);
  const h = concatenate([multiply(features, new Sigmoid().apply(m)), m]);
  return new GraphModel({ inputs: [img, meta], outputs: [new Linear(10, 3).named('logits').apply(h), new Linear(10, 1).named('score').apply(h)] });
}

/** A residual block (its own GraphModel) used twice inside another graph. */
function nestedModel(): GraphModel {
  const bx = input([4]);
  const block = new GraphModel({ inputs: bx, outputs: add(new ReLU().apply(new Linear(4, 4).apply(bx)), bx), name: 'block' });
  const x = input([4]);
  return new GraphModel({ inputs: x, outputs: new Linear(4, 2).named('head').apply(block.apply(block.apply(x))) });
}

// NOTE: attributes are defined in Kestrel's first-use order, so state_dict() key order must match too.
const PY_MODELS = `
  import torch.nn as nn
  import torch.nn.functional as F
  class Skip(nn.Module):
      def __init__(self):
          super().__init__()
          self.stem = nn.Conv2d(3, 4, 3, padding=1); self.bn = nn.BatchNorm2d(4, eps=1e-3)
          self.conv2d = nn.Conv2d(4, 4, 3, padding='same'); self.conv2d_1 = nn.Conv2d(4, 2, 1)
          self.conv2d_2 = nn.Conv2d(4, 6, 1, bias=False); self.conv2d_3 = nn.Conv2d(6, 6, 3, groups=6, padding=1)
          self.linear = nn.Linear(6, 5)
      def forward(self, x):
          r = F.relu6(self.bn(self.stem(x)))
          s = torch.cat([self.conv2d(r), self.conv2d_1(r)], 1) + self.conv2d_2(r)
          return self.linear(F.pad(self.conv2d_3(s), (0, 1, 0, 1)).mean((2, 3)))
  class Shared(nn.Module):
      def __init__(self):
          super().__init__()
          self.shared = nn.Linear(6, 6); self.head = nn.Linear(6, 3)
      def forward(self, x):
          h1 = self.shared(x)
          return self.head(h1 + self.shared(torch.tanh(h1)))
  class Two(nn.Module):
      def __init__(self):
          super().__init__()
          self.conv2d = nn.Conv2d(3, 5, 3); self.linear = nn.Linear(4, 5)
          self.logits = nn.Linear(10, 3); self.score = nn.Linear(10, 1)
      def forward(self, img, meta):
          m = self.linear(meta)
          h = torch.cat([self.conv2d(img).mean((2, 3)) * torch.sigmoid(m), m], 1)
          return self.logits(h), self.score(h)
  class Block(nn.Module):
      def __init__(self):
          super().__init__()
          self.linear = nn.Linear(4, 4)
      def forward(self, x):
          return torch.relu(self.linear(x)) + x
  class Nested(nn.Module):
      def __init__(self):
          super().__init__()
          self.block = Block(); self.head = nn.Linear(4, 2)
      def forward(self, x):
          return self.head(self.block(self.block(x)))
  def upstream(y):
      return torch.arange(y.numel(), dtype=torch.float32).reshape(y.shape).sin()
`;

interface GraphCase {
  name: string;
  model: GraphModel;
  inputs: Tensor[];
  /** Python class building the twin. */
  torch: string;
}

/**
 * Loads each graph model's state dict into its PyTorch twin by name (strict), runs forward and
 * backward of sum(y * sin(k)) over all outputs in training mode on both, and compares outputs,
 * input and parameter gradients, buffers afterwards, and the state-dict key order.
 */
function checkGraphs(cases: GraphCase[]): void {
  const inputs: Record<string, Tensor> = {};
  const actual: Record<string, Tensor> = {};
  const python: string[] = [];
  const keys = new Map<string, string[]>();
  for (const { name, model, inputs: xs, torch } of cases) {
    for (const [key, t] of model.stateDict()) inputs[`${name}.sd.${key}`] = t.clone();
    keys.set(name, [...model.stateDict().keys()]);
    const leaves = xs.map((x, i) => { inputs[`${name}.x${i}`] = x; return x.clone().setRequiresGrad(true); });
    model.train();
    const ys = model.forwardAll(leaves);
    ys.map((y) => y.mul(upstream(y)).sum()).reduce((a, b) => a.add(b)).backward();
    ys.forEach((y, i) => { actual[`${name}.y${i}`] = y.detach(); });
    leaves.forEach((x, i) => { actual[`${name}.xgrad${i}`] = x.grad!; });
    for (const [key, p] of model.namedParameters()) actual[`${name}.grad.${key}`] = p.grad!;
    for (const [key, b] of model.namedBuffers()) actual[`${name}.buf.${key}`] = b.clone();
    python.push(`
      m = ${torch}()
      prefix = '${name}.sd.'
      m.load_state_dict({k[len(prefix):]: v for k, v in inp.items() if k.startswith(prefix)}, strict=True)
      m.train()
      xs = [inp['${name}.x%d' % i].clone().requires_grad_() for i in range(${xs.length})]
      ys = m(*xs)
      ys = ys if isinstance(ys, tuple) else (ys,)
      sum((y * upstream(y)).sum() for y in ys).backward()
      for i, y in enumerate(ys): out['${name}.y%d' % i] = y
      for i, x in enumerate(xs): out['${name}.xgrad%d' % i] = x.grad
      for k, p in m.named_parameters(): out['${name}.grad.' + k] = p.grad
      for k, b in m.named_buffers(): out['${name}.buf.' + k] = b
      out['${name}.keys'] = text('\\n'.join(m.state_dict().keys()))
    `);
  }
  const expected = runTorch(pythonScript(PY_MODELS, ...python), inputs);
  for (const [name, ours] of keys) {
    assert.deepEqual(ours, decodeMessage(expected[`${name}.keys`]).split('\n'), `${name}: state-dict keys and their order`);
    delete expected[`${name}.keys`];
  }
  assertAllClose(actual, expected);
}

test('graph models match PyTorch twins: skip connections, concatenation, a shared layer, two inputs and outputs, a nested graph', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    manualSeed(81);
    checkGraphs([
      { name: 'skip', model: skipModel(), inputs: [randn([2, 3, 8, 8])], torch: 'Skip' },
      { name: 'shared', model: sharedModel(), inputs: [randn([3, 6])], torch: 'Shared' },
      { name: 'two', model: twoInTwoOut(), inputs: [randn([2, 3, 6, 6]), randn([2, 4])], torch: 'Two' },
      { name: 'nested', model: nestedModel(), inputs: [randn([3, 4])], torch: 'Nested' },
    ]);
  });
});

test('layers are named Keras-style in first-use order; explicit names kept; state-dict keys are <layer>.<param>', () => {
  tidy(() => {
    const model = skipModel();
    assert.deepEqual(model.layers.map((m) => m.name),
      ['stem', 'bn', 'relu6', 'conv2d', 'conv2d_1', 'concatenate', 'conv2d_2', 'add', 'conv2d_3', 'zero_pad2d', 'global_avg_pool2d', 'linear']);
    assert.deepEqual(model.namedChildren().map(([name]) => name), model.layers.map((m) => m.name));
    assert.deepEqual(model.steps.map((s) => s.name), model.layers.map((m) => m.name), 'one step per call');
    assert.equal(model.inputs[0].name, 'x');
    assert.equal(model.outputs[0].name, 'linear');
    assert.deepEqual([...model.stateDict().keys()].filter((k) => k.startsWith('bn.')),
      ['bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked']);
    assert.equal(model.layer('conv2d_3'), model.steps[8].module);
    assert.equal((model.layer('bn') as BatchNorm2d).eps, 1e-3);
    assert.deepEqual(model.steps[5].outputShapes, [[null, 6, 8, 8]]);
    assert.deepEqual(model.steps[5].inputs.map((t) => t.name), ['conv2d', 'conv2d_1']);
    model.freeze('conv2d');
    assert.deepEqual(model.namedParameters().filter(([, p]) => !p.requiresGrad).map(([k]) => k), ['conv2d.weight', 'conv2d.bias'],
      "freeze('conv2d') does not reach conv2d_1");
    model.unfreeze();

    const shared = sharedModel();
    assert.deepEqual(shared.steps.map((s) => [s.name, s.call]), [['shared', 0], ['tanh', 0], ['shared', 1], ['add', 0], ['head', 0]]);
    assert.deepEqual([...shared.stateDict().keys()], ['shared.weight', 'shared.bias', 'head.weight', 'head.bias']);
    assert.equal(shared.numParameters(), 42 + 21, 'the shared layer counts once');
    assert.equal(shared.steps[2].outputs[0].name, 'shared_1', "a shared layer's later call is named <layer>_<call>");

    const nested = nestedModel();
    assert.deepEqual([...nested.stateDict().keys()], ['block.linear.weight', 'block.linear.bias', 'head.weight', 'head.bias']);
    assert.match(nested.toString(), /^GraphModel\(inputs=\[input: \[None, 4\]\], outputs=\[head: \[None, 2\]\]  # 30 params\n {2}\(block\): GraphModel\(/);
    dispose(model, shared, nested);
  });
});

test('subgraph shares the layers (same Parameter objects) and gives the intermediate output', () => {
  tidy(() => {
    manualSeed(82);
    const model = skipModel();
    model.eval();
    const body = subgraph(model, { outputs: 'add' });
    assert.ok(body.layers.length === 8 && body.layers.every((m, i) => m === model.layers[i]), 'the same layer objects');
    assert.deepEqual(body.layers.map((m) => m.name), model.layers.slice(0, 8).map((m) => m.name), 'names kept');
    const params = new Set(model.parameters());
    assert.ok(body.parameters().every((p) => params.has(p)), 'same Parameter objects');
    assert.deepEqual([...body.stateDict().keys()], [...model.stateDict().keys()].filter((k) => !/^(conv2d_3|linear)\./.test(k)));
    const x = randn([2, 3, 8, 8]);
    const [y, captured] = noGrad(() => { const r = model.run([x], { capture: ['add'] }); return [r.outputs[0], r.captured[0]]; });
    const cut = noGrad(() => body.forward(x));
    assert.deepEqual(cut.shape, [2, 6, 8, 8]);
    assert.equal(noGrad(() => cut.sub(captured).abs().max().item()), 0, 'the cut model gives the full model\'s intermediate value');
    assert.deepEqual(y.shape, [2, 5]);
    // the rest of the model, from the cut to the output (Grad-CAM's head): body then head is the model
    const head = subgraph(model, { inputs: 'add' });
    assert.deepEqual(head.layers.map((m) => m.name), ['conv2d_3', 'zero_pad2d', 'global_avg_pool2d', 'linear']);
    assert.deepEqual(head.inputs.map((t) => [t.name, t.shape]), [['add', [null, 6, 8, 8]]]);
    assert.equal(noGrad(() => head.forward(cut).sub(y).abs().max().item()), 0);
    const activation = cut.detach().setRequiresGrad(true);
    head.forward(activation).select(1, 0).sum().backward();
    assert.deepEqual(activation.grad!.shape, [2, 6, 8, 8], 'gradient of a class score with respect to the cut activation');
    assert.match(errorMessage(() => subgraph(model, { inputs: 'conv2d_2' })), /graph disconnected: output SymbolicTensor\(linear, .* depends on input SymbolicTensor\(x, .*which is not among the model's inputs \('conv2d_2'\)/);
    // a head on the cut body: training it moves the shared parameters of the original model
    const f = input([3, 8, 8]);
    const tuned = new GraphModel({ inputs: f, outputs: new Linear(6, 2).named('new_head').apply(new GlobalAvgPool2d().apply(body.apply(f))) });
    assert.deepEqual([...tuned.stateDict().keys()].slice(0, 2), ['graph_model.stem.weight', 'graph_model.stem.bias']);
    const stem = model.layer('stem') as Conv2d;
    assert.equal(tuned.parameters()[0], stem.weight);
    // two outputs, and an input the cut does not need is dropped
    const two = twoInTwoOut();
    const meta = subgraph(two, { outputs: ['linear'] });
    assert.deepEqual(meta.inputs.map((t) => t.name), ['meta']);
    assert.deepEqual(subgraph(two, { outputs: ['global_avg_pool2d', 'linear'] }).outputs.map((t) => t.shape), [[null, 5], [null, 5]]);
    dispose(model, tuned, two);
  });
});

test('free input sizes (null): shapes follow them, any image size runs (progressive resizing), a Flatten of a free size cannot feed a Linear', () => {
  tidy(() => {
    const x = input([3, null, null], { name: 'img' });
    const features = new ReLU().apply(new Conv2d(3, 8, 3, { stride: 2, padding: 1 }).apply(x));
    const pooled = new GlobalAvgPool2d().apply(features);
    const model = new GraphModel({ inputs: x, outputs: new Linear(8, 4).apply(pooled) });
    assert.deepEqual(model.steps.map((s) => s.outputShapes[0]), [[null, 8, null, null], [null, 8, null, null], [null, 8], [null, 4]]);
    model.eval();
    for (const size of [20, 41]) assert.deepEqual(noGrad(() => model.forward(randn([2, 3, size, size]))).shape, [2, 4]);
    assert.throws(() => model.forward(randn([2, 1, 20, 20])), /input 'img' expects shape \[None, 3, None, None\], got \[2, 1, 20, 20\]/);
    assert.deepEqual(new AdaptiveAvgPool2d([2, 3]).apply(features).shape, [null, 8, 2, 3], 'a fixed output size stays fixed');
    assert.throws(() => new Linear(8, 4).apply(new Flatten().apply(features)), /cannot take input \[None, None\] from layer/);
    model.dispose();
  });
});

function dispose(...models: GraphModel[]): void {
  for (const m of models) m.dispose();
}
