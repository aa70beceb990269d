import test from 'node:test';
import assert from 'node:assert/strict';
import { kestrel } from '../helpers/cli.js';
import { saveBundle } from '../io/predict-fixtures.js';

test('kestrel info RUN_DIR describes a bundle: architecture, parameters, classes, input, preprocessing, normalisation', () => {
  const dir = saveBundle(41, undefined, { resize: 'crop', cropFraction: 0.875 });
  const run = kestrel('info', dir);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /format kestrel-model v1/);
  assert.match(run.stdout, /architecture mnist-cnn \{"numClasses":3/);
  assert.match(run.stdout, /parameters {3}82,727 \(/);
  assert.match(run.stdout, /classes {6}3: cat, dog, fox/);
  assert.match(run.stdout, /input {8}3x16x16 .*resize 'crop' keeping 0.875 of the centre/);
  assert.match(run.stdout, /normalize {4}mean \[0\.5000, 0\.4000, 0\.3000\], std \[0\.2500, 0\.2000, 0\.3000\]/);
  const missing = kestrel('info', `${dir}-nope`);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /is not a directory/);
});
