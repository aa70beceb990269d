import test from 'node:test';
import assert from 'node:assert/strict';
import { memory, randn, tidy } from '../../src/tensor/index.js';
import {
  BatchNorm1d, Conv2d, GlobalAvgPool2d, GraphModel, Linear, ReLU, Reshape, add, concatenate, input, subgraph,
} from '../../src/nn/index.js';
import { errorMessage } from '../tensor/parity.js';

test('a shape error at apply() names the layer, the input shapes and the layers they came from', () => {
  const img = input([4, 8, 8], { name: 'img' });
  assert.equal(errorMessage(() => new Conv2d(3, 8, 3).named('c1').apply(img)),
    "layer 'c1' (Conv2d(3 -> 8, kernel=3x3)) cannot take input [None, 4, 8, 8] from input 'img': " +
    'Conv2d(3 -> 8) expects 3 input channels, got input of shape [1, 4, 8, 8]');
  const pooled = new GlobalAvgPool2d().named('gap').apply(img);
  assert.equal(errorMessage(() => new Linear(10, 3).apply(pooled)),
    "layer Linear(10 -> 3) cannot take input [None, 4] from layer 'gap' (GlobalAvgPool2d()): " +
    'Linear(10 -> 3) expects 10 input features in the last dimension, got input of shape [1, 4]');
  const conv = new Conv2d(4, 2, 3).apply(img);
  assert.match(errorMessage(() => add(conv, img)),
    /^layer Add\(\) cannot take input \[None, 2, 6, 6\] from layer Conv2d\(4 -> 2, kernel=3x3\), \[None, 4, 8, 8\] from input 'img': Add cannot combine inputs of shapes \[1, 2, 6, 6\], \[1, 4, 8, 8\]: The size of tensor a \(6\) must match/);
  assert.match(errorMessage(() => concatenate([conv, img])), /^layer Concatenate\(dim=1\) cannot take input .*Sizes of tensors must match except in dimension 1/);
  assert.match(errorMessage(() => new Reshape([5, 5]).apply(pooled)), /Reshape\(\[5, 5\]\) cannot reshape input of shape \[1, 4\] \(4 values per sample\)/);
});

test('a disconnected graph is rejected: an output not computable from the inputs, an unused input', () => {
  const a = input([3], { name: 'a' });
  const b = input([3], { name: 'b' });
  const out = new Linear(3, 2).named('fc').apply(a);
  assert.equal(errorMessage(() => new GraphModel({ inputs: b, outputs: out })),
    "GraphModel: graph disconnected: output SymbolicTensor(fc, [None, 2], float32) depends on input SymbolicTensor(a, [None, 3], float32), which is not among the model's inputs ('b')");
  assert.equal(errorMessage(() => new GraphModel({ inputs: [a, b], outputs: out })),
    'GraphModel: graph disconnected: input SymbolicTensor(b, [None, 3], float32) is not used by any output');
  assert.equal(errorMessage(() => new GraphModel({ inputs: [a, a], outputs: out })), 'GraphModel: input SymbolicTensor(a, [None, 3], float32) is listed twice');
  assert.match(errorMessage(() => new GraphModel({ inputs: [], outputs: out })), /needs at least one input/);
  assert.match(errorMessage(() => new GraphModel({ inputs: a, outputs: randn([2]) as never })), /output 0 is not a SymbolicTensor/);
});

test('names: a duplicate explicit name is an error and leaves the layers unnamed; bad names are refused', () => {
  const x = input([3]);
  const first = new Linear(3, 3).named('dense');
  const unnamed = new ReLU();
  const out = new Linear(3, 3).named('dense').apply(unnamed.apply(first.apply(x)));
  assert.match(errorMessage(() => new GraphModel({ inputs: x, outputs: out })),
    /^GraphModel: the name 'dense' is used twice \(layer 'dense' \(Linear\(3 -> 3\)\) and layer 'dense' \(Linear\(3 -> 3\)\)\); names in a model must be unique$/);
  assert.equal(unnamed.name, undefined, 'a rejected model names nothing');
  assert.equal(x.name, 'input');
  assert.match(errorMessage(() => new ReLU().named('a.b')), /a layer name must be a non-empty string without '\.', got "a\.b"/);
  assert.equal(errorMessage(() => input([3, 0])),
    'input: shape must list positive integer sizes (or null for free ones) without the batch dimension (e.g. [3, 32, 32]), got [3,0]');
  assert.match(errorMessage(() => input([2.5])), /got \[2\.5\]/);
});

test('forward checks the inputs, names the failing layer at run time, and frees what it made before the error', () => {
  tidy(() => {
    const x = input([4], { name: 'feat' });
    const model = new GraphModel({ inputs: x, outputs: new BatchNorm1d(4).named('norm').apply(new Linear(4, 4).apply(x)), name: 'net' });
    assert.equal(errorMessage(() => model.forward(randn([2, 5]))), "GraphModel 'net': input 'feat' expects shape [None, 4], got [2, 5]");
    assert.equal(errorMessage(() => model.forwardAll([randn([2, 4]), randn([2, 4])])), "GraphModel 'net' takes 1 input(s) ('feat'), got 2");
    assert.match(errorMessage(() => model.layer('nope')), /^GraphModel 'net' has no layer 'nope'; layers: linear, norm$/);
    const single = randn([1, 4]);
    const before = memory().liveTensors;
    assert.equal(errorMessage(() => model.forward(single)),
      "layer 'norm' (BatchNorm1d) got input [1, 4] from layer 'linear' (Linear(4 -> 4)): BatchNorm1d: expected more than 1 value per channel when training, got input of shape [1, 4]");
    assert.equal(memory().liveTensors, before, 'the intermediate made before the failing layer is freed');
    assert.match(errorMessage(() => new Linear(4, 4).apply(randn([2, 4]) as never, x as never)), /takes either Tensors or SymbolicTensors \(from nn\.input\(\)\), got Tensor, SymbolicTensor/);
    const two = new GraphModel({ inputs: x, outputs: [x, new ReLU().apply(x)] });
    assert.match(errorMessage(() => two.forward(randn([2, 4]))), /has 2 outputs; use forwardAll\(\)/);
    const shared = new ReLU();
    const twice = new GraphModel({ inputs: x, outputs: shared.apply(shared.apply(x)) });
    assert.match(errorMessage(() => subgraph(twice, { outputs: 're_lu' })), /has no layer 're_lu'; layers: relu/);
    assert.match(errorMessage(() => subgraph(twice, { outputs: 'relu' })), /layer 'relu' is called 2 times; pass the SymbolicTensor of the call you want/);
    assert.equal(subgraph(twice, { outputs: twice.steps[0].outputs[0] }).steps.length, 1);
    model.dispose();
  });
});
