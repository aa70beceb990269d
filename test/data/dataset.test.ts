import test from 'node:test';
import assert from 'node:assert/strict';
import { TensorDataset } from '../../src/data/index.js';
import { dispose, memory, tensor, tidy } from '../../src/tensor/index.js';

/** Two images of 2 channels x 1 x 2 pixels, with values chosen for hand computation. */
function twoChannel(options: ConstructorParameters<typeof TensorDataset>[2] = {}): TensorDataset {
  // image 0: channel 0 = [0, 51], channel 1 = [255, 255]; image 1: channel 0 = [102, 153], channel 1 = [0, 0]
  const pixels = Uint8Array.from([0, 51, 255, 255, 102, 153, 0, 0]);
  return tidy(() => new TensorDataset(tensor(pixels, [2, 2, 1, 2]), tensor(Int32Array.from([0, 1])).long(), { classes: ['a', 'b'], ...options }));
}

test('computeStats gives per-channel mean and population std of x/255', () => {
  const ds = twoChannel();
  const before = memory().liveTensors;
  // channel 0: values 0, 0.2, 0.4, 0.6 -> mean 0.3, var = mean(x^2) - 0.09 = 0.14 - 0.09 = 0.05
  // channel 1: values 1, 1, 0, 0     -> mean 0.5, var 0.25
  for (const chunk of [1, 8192]) {
    const stats = ds.computeStats(chunk);
    assert.ok(Math.abs(stats.mean[0] - 0.3) < 1e-12 && Math.abs(stats.mean[1] - 0.5) < 1e-12, `mean ${stats.mean}`);
    assert.ok(Math.abs(stats.std[0] - Math.sqrt(0.05)) < 1e-12 && Math.abs(stats.std[1] - 0.5) < 1e-12, `std ${stats.std}`);
  }
  assert.equal(memory().liveTensors, before);
  ds.dispose();
});

test('getBatch normalises each channel with its own mean and std', () => {
  const ds = twoChannel({ normalize: { mean: [0.3, 0.5], std: [0.1, 0.5] } });
  const before = memory().liveTensors;
  const { x, y } = ds.getBatch(Int32Array.from([1, 0]));
  assert.equal(memory().liveTensors, before + 2, 'only x and y survive');
  assert.equal(x.dtype, 'float32');
  assert.equal(y.dtype, 'int64');
  const expected = [
    (102 / 255 - 0.3) / 0.1, (153 / 255 - 0.3) / 0.1, (0 - 0.5) / 0.5, (0 - 0.5) / 0.5,
    (0 - 0.3) / 0.1, (51 / 255 - 0.3) / 0.1, (1 - 0.5) / 0.5, (1 - 0.5) / 0.5,
  ];
  const actual = x.toArray() as Float32Array;
  expected.forEach((v, i) => assert.ok(Math.abs(actual[i] - v) < 1e-5, `x[${i}] = ${actual[i]}, expected ${v}`));
  assert.deepEqual(Array.from(y.toArray() as BigInt64Array, Number), [1, 0]);
  dispose([x, y]);
  ds.dispose();
});

test('bad indices and bad normalisation give clear errors and leak nothing', () => {
  const ds = twoChannel();
  const before = memory().liveTensors;
  assert.throws(() => ds.getBatch(Int32Array.from([0, 2])), /TensorDataset: index 2 out of range for 2 samples/);
  assert.throws(() => ds.getBatch(Int32Array.from([-1])), /TensorDataset: index -1 out of range for 2 samples/);
  assert.throws(() => ds.subset(Int32Array.from([5])), /TensorDataset: index 5 out of range for 2 samples/);
  assert.throws(() => ds.withNormalize({ mean: [0.5], std: [0.5] }), /normalize needs 2 mean and std values, got 1 and 1/);
  assert.throws(() => ds.withNormalize({ mean: [0, 0], std: [1, 0] }), /normalize std values must be positive, got \[1, 0\]/);
  // A constructor that refuses its input inside a tidy leaves nothing behind.
  assert.throws(() => tidy(() => new TensorDataset(tensor(new Uint8Array(4), [1, 1, 2, 2]), tensor(Int32Array.from([3])).long(), { classes: ['a'] })),
    /TensorDataset: label 3 out of range for 1 classes/);
  assert.throws(() => tidy(() => new TensorDataset(tensor(new Uint8Array(4), [1, 1, 2, 2]), tensor(Int32Array.from([0])).long(), { normalize: { mean: [0], std: [-1] } })),
    /normalize std values must be positive, got \[-1\]/);
  assert.equal(memory().liveTensors, before);
  const empty = ds.subset(new Int32Array(0));
  assert.equal(empty.length, 0);
  assert.throws(() => empty.computeStats(), /cannot compute statistics of an empty dataset/);
  empty.dispose();
  ds.dispose();
});

test('subset copies the chosen samples with their labels', () => {
  const ds = twoChannel();
  const part = ds.subset(Int32Array.from([1]));
  ds.dispose();
  // The subset owns its own copy: it survives the original's disposal.
  assert.deepEqual(Array.from(part.images.toArray() as Uint8Array), [102, 153, 0, 0]);
  assert.deepEqual(Array.from(part.labels.toArray() as BigInt64Array, Number), [1]);
  assert.deepEqual(part.classes, ['a', 'b']);
  part.dispose();
});
