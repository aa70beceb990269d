import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/io/index.js';
import { CLASSES, saveBundle, temp, writeImages } from '../io/predict-fixtures.js';
import { kestrel } from '../helpers/cli.js';


test('kestrel predict --json prints each file with probabilities in class order, equal to the library', async () => {
  const dir = saveBundle(11);
  const images = temp();
  const files = await writeImages(images, [[16, 16], [20, 16], [16, 30]]);
  const run = kestrel('predict', dir, images, '--json');
  assert.equal(run.code, 0, run.stderr);
  const rows = JSON.parse(run.stdout) as { file: string; label: string; probabilities: number[] }[];
  assert.deepEqual(rows.map((r) => r.file), files);
  const loaded = loadModel(dir);
  const { predictions } = await loaded.predict(files);
  loaded.dispose();
  rows.forEach((row, i) => {
    assert.equal(row.label, predictions[i].label);
    assert.equal(row.probabilities.length, CLASSES.length);
    row.probabilities.forEach((p, c) => assert.ok(Math.abs(p - predictions[i].probabilities[c]) < 1e-7));
  });
});

test('kestrel predict --csv writes a Kaggle submission sorted by numeric id; --csv-prob writes one class\'s probability', async () => {
  const dir = saveBundle(12);
  const images = temp();
  // NOTE: names 1..11 so that text order (1, 10, 11, 2, ...) and numeric order differ.
  await writeImages(images, Array.from({ length: 11 }, () => [16, 16] as [number, number]));
  const csv = join(temp(), 'submission.csv');
  const labels = kestrel('predict', dir, images, '--csv', csv);
  assert.equal(labels.code, 0, labels.stderr);
  const lines = readFileSync(csv, 'utf8').trim().split('\n');
  assert.equal(lines[0], 'id,label');
  assert.deepEqual(lines.slice(1).map((l) => l.split(',')[0]), Array.from({ length: 11 }, (_, i) => String(i + 1)));
  for (const line of lines.slice(1)) assert.ok(CLASSES.includes(line.split(',')[1]), line);
  const probs = join(temp(), 'dog.csv');
  const dog = kestrel('predict', dir, images, '--csv', probs, '--csv-prob', 'dog', '--json');
  assert.equal(dog.code, 0, dog.stderr);
  const json = JSON.parse(dog.stdout) as { file: string; probabilities: number[] }[];
  const byId = new Map(json.map((r) => [r.file.replace(/^.*\//, '').replace('.png', ''), r.probabilities[1]]));
  for (const line of readFileSync(probs, 'utf8').trim().split('\n').slice(1)) {
    const [id, value] = line.split(',');
    assert.equal(Number(value), byId.get(id));
  }
});

test('kestrel predict with two bundles averages them; a broken image is skipped and named', async () => {
  const a = saveBundle(13);
  const b = saveBundle(14);
  const images = temp();
  const files = await writeImages(images, [[16, 16], [16, 16]]);
  writeFileSync(join(images, 'zz-broken.png'), Buffer.from('this is not a png'));
  const one = (dir: string) => JSON.parse(kestrel('predict', dir, images, '--json').stdout) as { probabilities: number[] }[];
  const [pa, pb] = [one(a), one(b)];
  const both = kestrel('predict', a, b, images, '--json');
  assert.equal(both.code, 0, both.stderr);
  assert.match(both.stderr, /skipped .*zz-broken\.png: not an image/);
  assert.match(both.stderr, /predicted 2 of 3 images; 1 could not be read/);
  const rows = JSON.parse(both.stdout) as { file: string; probabilities: number[] }[];
  assert.deepEqual(rows.map((r) => r.file), files);
  rows.forEach((row, i) => row.probabilities.forEach((p, c) => assert.ok(Math.abs(p - (pa[i].probabilities[c] + pb[i].probabilities[c]) / 2) < 1e-6)));
  const lines = kestrel('predict', a, files[0], '--top-k', '2');
  assert.equal(lines.code, 0, lines.stderr);
  assert.match(lines.stdout.trim(), new RegExp(`^${files[0]}\\t(cat|dog|fox) 0\\.\\d{4}\\t(cat|dog|fox) 0\\.\\d{4}$`));
});

test('kestrel predict errors: unknown --csv-prob class, --csv-prob without --csv, no images, missing bundle', async () => {
  const dir = saveBundle(15);
  const images = temp();
  await writeImages(images, [[16, 16]]);
  const csv = join(temp(), 'x.csv');
  const unknown = kestrel('predict', dir, images, '--csv', csv, '--csv-prob', 'wolf');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /--csv-prob: no class 'wolf' in the model \(classes: cat, dog, fox\)/);
  assert.equal(existsSync(csv), false);
  assert.equal(kestrel('predict', dir, images, '--csv-prob', 'dog').code, 2);
  const empty = temp();
  writeFileSync(join(empty, 'notes.txt'), 'hello');
  const none = kestrel('predict', dir, empty);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no image files found/);
  const missing = kestrel('predict', join(temp(), 'nope'), images);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /model bundle '.*nope' is not a directory/);
  const broken = temp();
  writeFileSync(join(broken, 'a.png'), Buffer.from('garbage'));
  const allBad = kestrel('predict', dir, broken);
  assert.equal(allBad.code, 1);
  assert.match(allBad.stderr, /no image could be read \(1 of 1 failed\)/);
});
