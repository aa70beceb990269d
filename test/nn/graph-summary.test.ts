import test from 'node:test';
import assert from 'node:assert/strict';
import { memory } from '../../src/tensor/index.js';
import { Flatten, GraphModel, Linear, Tanh, add, input } from '../../src/nn/index.js';

test('summary() of a graph: one row per call, shared-layer parameters counted once, "Connected to" when not a chain', () => {
  const x = input([6], { name: 'x' });
  const shared = new Linear(6, 6).named('shared');
  const h1 = shared.apply(x);
  const h2 = shared.apply(new Tanh().apply(h1));
  const model = new GraphModel({ inputs: x, outputs: new Linear(6, 3).named('head').apply(add(h1, h2)), name: 'shared_net' });
  model.freeze('head');
  const before = memory().liveTensors;
  const summary = model.summary({ print: false });
  assert.equal(memory().liveTensors, before, 'a graph summary runs nothing');
  assert.equal(summary.text, [
    'Model: "shared_net"',
    '________________________________________________________________________',
    'Layer (type)       Output Shape    Param #    Connected to',
    '========================================================================',
    'x (InputLayer)     [None, 6]             0    -',
    'shared (Linear)    [None, 6]            42    x[0][0]',
    'tanh (Tanh)        [None, 6]             0    shared[0][0]',
    'shared (Linear)    [None, 6]             0    tanh[0][0]',
    'add (Add)          [None, 6]             0    shared[0][0], shared[1][0]',
    'head (Linear)      [None, 3]            21    add[0][0]',
    '========================================================================',
    'Total params: 63',
    'Trainable params: 42',
    'Non-trainable params: 21',
    '________________________________________________________________________',
  ].join('\n'));
  assert.deepEqual(summary.rows[4], { name: 'add', type: 'Add', outputShape: [-1, 6], parameters: 0, connectedTo: ['shared[0][0]', 'shared[1][0]'] });
  model.dispose();
});

test('summary() of a plain chain has no "Connected to" column; an input shape that does not fit is refused', () => {
  const y = input([1, 28, 28]);
  const chain = new GraphModel({ inputs: y, outputs: new Linear(784, 10).apply(new Flatten().apply(y)) });
  const text = chain.summary([1, 28, 28], { print: false }).text;
  assert.equal(text.split('\n').slice(0, 7).join('\n'), [
    'Model: "GraphModel"',
    '__________________________________________________',
    'Layer (type)          Output Shape         Param #',
    '==================================================',
    'input (InputLayer)    [None, 1, 28, 28]          0',
    'flatten (Flatten)     [None, 784]                0',
    'linear (Linear)       [None, 10]             7,850',
  ].join('\n'));
  assert.throws(() => chain.summary([3, 28, 28], { print: false }), /input 'input' expects shape \[None, 1, 28, 28\], got \[None, 3, 28, 28\]/);
  chain.dispose();
});
