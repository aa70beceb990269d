import test from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, maxAbsDiff, noGrad, randn, tensor, tidy } from '../../src/tensor/index.js';
import { Linear } from '../../src/nn/index.js';
import { GradScaler, SGD } from '../../src/optim/index.js';
import { MixedPrecision } from '../../src/learn/index.js';

test('GradScaler: scaled backward then unscale gives the plain gradients; the step runs; the scale grows after growthInterval', () => {
  manualSeed(1);
  tidy(() => {
    const layer = new Linear(4, 3);
    const x = randn([5, 4]);
    layer.forward(x).square().mean().backward();
    const plain = layer.weight.grad!.clone();
    layer.zeroGrad();
    const scaler = new GradScaler({ initScale: 1024, growthInterval: 2 });
    const optimizer = new SGD(layer.parameters(), { lr: 0.1 });
    scaler.scaleLoss(layer.forward(x).square().mean()).backward();
    assert.ok(maxAbsDiff(layer.weight.grad!, plain.mul(1024)) <= 1e-3, 'backward saw the scaled loss');
    assert.equal(scaler.unscale(optimizer), true);
    assert.equal(scaler.unscale(optimizer), true, 'a second unscale in the same step does nothing');
    assert.ok(maxAbsDiff(layer.weight.grad!, plain) <= 1e-6);
    const before = layer.weight.clone();
    assert.equal(scaler.step(optimizer), true);
    assert.ok(maxAbsDiff(layer.weight, before.sub(plain.mul(0.1))) <= 1e-6, 'the optimizer stepped on true gradients');
    scaler.update();
    assert.deepEqual(scaler.getState(), { scale: 1024, growthTracker: 1 });
    scaler.update();
    assert.deepEqual(scaler.getState(), { scale: 2048, growthTracker: 0 }, 'grows after growthInterval clean steps');
    layer.dispose();
  });
});

test('GradScaler: an infinite gradient skips the step and halves the scale; state round-trips; bad options are errors', () => {
  tidy(() => {
    const w = tensor([1, 2, 3]).setRequiresGrad();
    const optimizer = new SGD([w], { lr: 1 });
    const scaler = new GradScaler({ initScale: 8 });
    w.setGrad(tensor([1, Infinity, 0]));
    assert.equal(scaler.step(optimizer), false);
    assert.deepEqual(Array.from(w.toArray() as Float32Array), [1, 2, 3], 'the weights are untouched');
    scaler.update();
    assert.deepEqual(scaler.getState(), { scale: 4, growthTracker: 0 });
    w.setGrad(tensor([NaN, 0, 0]));
    assert.equal(scaler.unscale(optimizer), false, 'NaN counts as an overflow too');
    const copy = new GradScaler();
    copy.setState({ scale: 0.5, growthTracker: 7 });
    assert.deepEqual(copy.getState(), { scale: 0.5, growthTracker: 7 });
    assert.throws(() => copy.setState({ scale: -1, growthTracker: 0 }), /bad saved state/);
    assert.throws(() => new GradScaler({ backoffFactor: 2 }), /backoffFactor must be in \(0, 1\)/);
    assert.throws(() => new GradScaler({ growthInterval: 0 }), /growthInterval must be a positive integer/);
  });
});

test('MixedPrecision fp16 (the CUDA path): scaled backward, unscaled gradients for callbacks, overflow skips the step', () => {
  manualSeed(2);
  tidy(() => {
    const layer = new Linear(3, 2);
    const optimizer = new SGD(layer.parameters(), { lr: 0.5 });
    // NOTE: only backward/step run here (CPU has no float16 autocast); the forward path needs CUDA.
    const amp = new MixedPrecision({ precision: 'fp16', device: 'cuda', reason: 'test' }, layer);
    assert.ok(amp.scaler);
    const x = randn([4, 3]);
    layer.forward(x).sum().backward();
    const plain = layer.weight.grad!.clone();
    layer.zeroGrad();
    amp.backward(layer.forward(x).sum(), optimizer);
    assert.ok(maxAbsDiff(layer.weight.grad!, plain) <= 1e-4, 'gradients are unscaled right after backward');
    assert.equal(amp.step(optimizer), true);
    noGrad(() => layer.weight.grad!.fill_(Infinity));
    const before = layer.weight.clone();
    assert.equal(amp.step(optimizer), false);
    assert.equal(maxAbsDiff(layer.weight, before), 0);
    assert.deepEqual(amp.getState(), { precision: 'fp16', scaler: { scale: 2 ** 15, growthTracker: 0 } });
    layer.dispose();
  });
});
