import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { imageFolders, unlabelledImages } from '../../../src/data/image/index.js';
import { solidImage, tempDir, writeFile } from './fixtures.js';

async function makeFolder(root: string, counts: Record<string, number>, ext = 'png'): Promise<void> {
  for (const [name, n] of Object.entries(counts)) {
    for (let i = 0; i < n; i++) await solidImage(join(root, name, `${basename(name)}_${i}.${ext}`), 8, 8, [i * 10, 50, 100]);
  }
}

test('train/valid/test layout: sorted classes from sub-folders, unlabelled test folder gives file names', async () => {
  const root = tempDir();
  await makeFolder(root, { 'train/dog': 3, 'train/cat': 2, 'train/ant': 1, 'valid/cat': 1, 'valid/dog': 1 });
  await makeFolder(root, { test: 2 }, 'jpg');
  const warnings: string[] = [];
  const data = await imageFolders(root, { log: (m) => warnings.push(m) });
  assert.deepEqual(data.classes, ['ant', 'cat', 'dog']);
  assert.equal(data.train.length, 6);
  assert.equal(data.valid.length, 2);
  for (const item of [...data.train.items, ...data.valid.items]) {
    assert.equal(data.classes[item.label], basename(join(item.file, '..')), `label of ${item.file}`);
  }
  assert.ok(data.test?.unlabelled);
  assert.deepEqual(data.test!.files.map((f) => basename(f)), ['test_0.jpg', 'test_1.jpg']);
  assert.ok(data.test!.items.every((i) => i.label === -1));
  assert.deepEqual(warnings, [], 'nothing to report');
  data.train.saveClasses(join(root, 'classes.txt'));
  assert.equal(readFileSync(join(root, 'classes.txt'), 'utf8'), 'ant\ncat\ndog\n');
});

test('single folder split by validPct: seeded, disjoint, complete', async () => {
  const root = tempDir();
  await makeFolder(root, { a: 10, b: 10 });
  const one = await imageFolders(root, { validPct: 0.25, seed: 3 });
  const two = await imageFolders(root, { validPct: 0.25, seed: 3 });
  const other = await imageFolders(root, { validPct: 0.25, seed: 4 });
  assert.equal(one.valid.length, 5);
  assert.equal(one.train.length, 15);
  assert.deepEqual(one.valid.files, two.valid.files);
  assert.notDeepEqual(one.valid.files, other.valid.files);
  const all = new Set([...one.train.files, ...one.valid.files]);
  assert.equal(all.size, 20);
  assert.deepEqual(one.classes, ['a', 'b']);
});

test('labels from a file-name pattern and from a CSV; a mismatch is reported, never guessed', async () => {
  const root = tempDir();
  for (const name of ['great_pyrenees_1.jpg', 'great_pyrenees_2.jpg', 'Abyssinian_1.jpg', 'Abyssinian_12.jpg', 'README.jpg']) await solidImage(join(root, 'images', name), 8, 8, [1, 2, 3]);
  const warnings: string[] = [];
  const data = await imageFolders(join(root, 'images'), { labels: /^(.+)_\d+\.jpg$/, validPct: 0, log: (m) => warnings.push(m) });
  assert.deepEqual(data.classes, ['Abyssinian', 'great_pyrenees']);
  assert.equal(data.train.length, 4);
  assert.deepEqual(warnings, ['kestrel: skipped 1 of 5 images: README.jpg (file name does not match the label pattern /^(.+)_\\d+\\.jpg$/)']);
  await assert.rejects(imageFolders(join(root, 'images'), { labels: /^(.+)_\d+\.jpg$/, onBadImage: 'error' }), /README\.jpg: file name does not match the label pattern/);

  const csvRoot = tempDir();
  for (const name of ['x1.png', 'x2.png', 'x3.png', 'extra.png']) await solidImage(join(csvRoot, 'pics', name), 8, 8, [9, 9, 9]);
  const csv = writeFile(join(csvRoot, 'labels.csv'), 'file,label\nx1.png,zebra\nx2.png,"horse, brown"\nx3.png,zebra\nmissing.png,zebra\n');
  const logged: string[] = [];
  const fromCsv = await imageFolders(join(csvRoot, 'pics'), { labels: { csv }, validPct: 0, log: (m) => logged.push(m) });
  assert.deepEqual(fromCsv.classes, ['horse, brown', 'zebra']);
  assert.deepEqual(fromCsv.train.items.map((i) => [basename(i.file), i.label]), [['x1.png', 1], ['x2.png', 0], ['x3.png', 1]]);
  assert.equal(logged.length, 1);
  assert.match(logged[0], /skipped 2 of 5 images: /);
  assert.match(logged[0], /extra\.png \(not listed in labels CSV .*labels\.csv\)/);
  assert.match(logged[0], /missing\.png \(file is missing or a dangling link\)/);
  const conflicting = writeFile(join(csvRoot, 'bad.csv'), 'file,label\nx1.png,zebra\nx1.png,horse\n');
  await assert.rejects(imageFolders(join(csvRoot, 'pics'), { labels: { csv: conflicting } }), /bad\.csv line 3: x1\.png is labelled both 'zebra' and 'horse'/);
});

test('labels CSV: quoted fields may hold newlines, commas and quotes (RFC 4180); errors name the line a record starts on', async () => {
  const root = tempDir();
  for (const name of ['a.png', 'b.png', 'c.png']) await solidImage(join(root, 'pics', name), 8, 8, [9, 9, 9]);
  // NOTE: a spreadsheet export with a multi-line note; splitting at newlines would make 'b.png' a note's tail.
  const csv = writeFile(join(root, 'labels.csv'), '\uFEFFfile,note,label\r\na.png,"seen at\nthe zoo, twice",zebra\r\nb.png,"a ""quoted""\nword",horse\r\n\r\nc.png,,zebra\r\n');
  const data = await imageFolders(join(root, 'pics'), { labels: { csv }, validPct: 0 });
  assert.deepEqual(data.classes, ['horse', 'zebra']);
  assert.deepEqual(data.train.items.map((i) => [basename(i.file), data.classes[i.label]]), [['a.png', 'zebra'], ['b.png', 'horse'], ['c.png', 'zebra']]);
  const clash = writeFile(join(root, 'clash.csv'), 'file,note,label\na.png,"line one\nline two",zebra\na.png,x,horse\n');
  await assert.rejects(imageFolders(join(root, 'pics'), { labels: { csv: clash } }), /clash\.csv line 4: a\.png is labelled both 'zebra' and 'horse'/);
  const unclosed = writeFile(join(root, 'unclosed.csv'), 'file,label\na.png,"zebra\n');
  await assert.rejects(imageFolders(join(root, 'pics'), { labels: { csv: unclosed } }), /labels CSV .*unclosed\.csv.*: not valid CSV \(/);
});

test('empty class folders: one line naming each once (split folders too), never counted as images; a single class is warned about', async () => {
  const root = tempDir();
  await makeFolder(root, { 'train/cat': 2, 'train/dog': 2, 'valid/cat': 1 });
  for (const dir of ['train/hamster', 'valid/hamster', 'valid/dog']) mkdirSync(join(root, dir), { recursive: true });
  const warnings: string[] = [];
  const data = await imageFolders(root, { log: (m) => warnings.push(m) });
  assert.deepEqual(data.classes, ['cat', 'dog']);
  assert.deepEqual(data.skipped, []);
  assert.deepEqual(warnings, [
    `kestrel: left out a class folder with no usable images: 'hamster' (${join(root, 'train', 'hamster')}, ${join(root, 'valid', 'hamster')})`,
    `kestrel: a class has no usable images in one split: 'dog' (${join(root, 'valid', 'dog')})`,
  ]);

  const single = tempDir();
  await makeFolder(single, { cat: 5 });
  const logged: string[] = [];
  const one = await imageFolders(single, { log: (m) => logged.push(m) });
  assert.deepEqual(one.classes, ['cat']);
  assert.deepEqual(logged, [`kestrel: ${single} has a single class ('cat'), so the model can only ever predict it; a classifier needs at least two classes, each in its own sub-folder (${join(single, '<class>')}/*)`]);
});

test('unlabelledImages lists a folder for prediction', async () => {
  const root = tempDir();
  await solidImage(join(root, 'b.png'), 4, 4, [0, 0, 0]);
  await solidImage(join(root, 'a.webp'), 4, 4, [0, 0, 0]);
  writeFile(join(root, 'notes.txt'), 'not an image, ignored: wrong extension');
  const data = await unlabelledImages(root);
  assert.deepEqual(data.files.map((f) => basename(f)), ['a.webp', 'b.png']);
  assert.ok(data.unlabelled);
});
