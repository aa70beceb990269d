import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { dispose, memory } from '../../../src/tensor/index.js';
import { ImageDataset, ImageLoader, decodeImage, imageFolders, probeImage } from '../../../src/data/image/index.js';
import { bombPng, solidImage, tempDir, truncatedJpeg, writeFile } from './fixtures.js';

/** A class folder with 4 good images and one of each kind of bad file. */
async function badFolder(): Promise<{ root: string; files: Record<string, string> }> {
  const root = tempDir();
  for (let i = 0; i < 4; i++) await solidImage(join(root, 'cat', `good${i}.png`), 8, 8, [200, 100, 0]);
  for (let i = 0; i < 4; i++) await solidImage(join(root, 'dog', `good${i}.jpg`), 8, 8, [0, 100, 200]);
  const dog = join(root, 'dog');
  const files = {
    truncated: await truncatedJpeg(join(dog, 'truncated.jpg')),
    empty: writeFile(join(dog, 'empty.jpg'), ''),
    text: writeFile(join(dog, 'notes.jpg'), 'this is a text file, not a JPEG\n'),
    directory: join(dog, 'folder.jpg'),
    dangling: join(dog, 'dangling.jpg'),
    bomb: await bombPng(join(dog, 'bomb.png'), 20000, 20000),
  };
  mkdirSync(files.directory);
  symlinkSync(join(root, 'does-not-exist.jpg'), files.dangling);
  mkdirSync(join(root, 'hamster'));
  return { root, files };
}

const REASONS: Record<string, RegExp> = {
  truncated: /^truncated JPEG \(file ends before the image data does\)$/,
  empty: /^empty file \(0 bytes\)$/,
  text: /^not an image \(unrecognised format\)$/,
  directory: /^is a directory, not an image file$/,
  dangling: /^file is missing or a dangling link$/,
  bomb: /^image too large: 20000x20000 is 400\.0 megapixels, over the limit of 268\.4 megapixels \(decompression-bomb guard; raise maxPixels to allow it\)$/,
};

test('every bad file gets its own reason from the header check', async () => {
  const { files } = await badFolder();
  for (const [kind, file] of Object.entries(files)) {
    await assert.rejects(probeImage(file), (error: Error & { file?: string; reason?: string }) => {
      assert.equal(error.name, 'BadImageError', kind);
      assert.equal(error.file, file);
      assert.match(error.reason!, REASONS[kind], kind);
      assert.ok(error.message.startsWith(`${file}: `), 'message names the file');
      return true;
    });
  }
  await assert.rejects(decodeImage(files.bomb), /bomb\.png: image too large: 20000x20000/);
  await assert.rejects(decodeImage(files.truncated), /truncated\.jpg: truncated JPEG/);
});

test("dataset creation skips bad files with a summary, and 'error' stops naming each file", async () => {
  const { root, files } = await badFolder();
  const warnings: string[] = [];
  const before = process.memoryUsage().rss;
  const data = await imageFolders(root, { validPct: 0, log: (m) => warnings.push(m) });
  assert.ok(process.memoryUsage().rss - before < 200e6, 'the 20000x20000 image was never decoded');
  assert.deepEqual(data.classes, ['cat', 'dog'], "'hamster' has no images, so it is not a class");
  assert.equal(data.train.length, 8);
  assert.ok(data.train.items.every((i) => basename(i.file).startsWith('good')));
  assert.equal(warnings.length, 2);
  const summary = warnings[0];
  assert.match(summary, /^kestrel: skipped 6 of 14 images: /);
  assert.match(summary, /truncated\.jpg \(truncated JPEG \(file ends before the image data does\)\)/);
  assert.match(summary, /empty\.jpg \(empty file \(0 bytes\)\)/);
  assert.match(summary, /notes\.jpg \(not an image \(unrecognised format\)\)/);
  assert.match(summary, /folder\.jpg \(is a directory, not an image file\)/);
  assert.match(summary, /dangling\.jpg \(file is missing or a dangling link\)/);
  assert.match(summary, /bomb\.png \(image too large: 20000x20000/);
  assert.doesNotMatch(summary, /hamster/, 'an empty class folder is not counted as a skipped image');
  assert.equal(warnings[1], `kestrel: left out a class folder with no usable images: 'hamster' (${join(root, 'hamster')})`);
  assert.equal(data.skipped.length, 6);

  await assert.rejects(imageFolders(root, { onBadImage: 'error' }), (error: Error) => {
    for (const file of Object.values(files)) assert.ok(error.message.includes(`${file}: `), `names ${file}`);
    assert.doesNotMatch(error.message, /hamster/, 'an empty class folder is not a bad image');
    return true;
  });
});

test('a folder with no images is an error naming the folder', async () => {
  const root = tempDir();
  mkdirSync(join(root, 'cat'));
  writeFile(join(root, 'cat', 'readme.txt'), 'hello');
  await assert.rejects(imageFolders(root), new RegExp(`no images found in ${root.replace(/[/\\]/g, '.')}.*\\(looked for \\.jpg, \\.jpeg, \\.png`));
  await assert.rejects(imageFolders(join(root, 'nope')), /dataset folder .*nope does not exist/);
});

test('decode failures inside workers are skipped with a summary, or raised with the file name', async () => {
  const { root, files } = await badFolder();
  const good = [0, 1, 2, 3].map((i) => ({ file: join(root, 'cat', `good${i}.png`), label: 0 }));
  // NOTE: validate: false at creation, so the workers meet the bad files.
  const dataset = new ImageDataset([...good, ...Object.values(files).map((file) => ({ file, label: 1 }))], ['cat', 'dog']);
  const live = memory().liveTensors;
  const warnings: string[] = [];
  const loader = new ImageLoader(dataset, { batchSize: 4, workers: 2, transforms: { size: 8 }, log: (m) => warnings.push(m) });
  const sizes: number[] = [];
  for await (const batch of loader) { sizes.push(batch.x.shape[0]); assert.deepEqual(batch.y.toList(), new Array(batch.x.shape[0]).fill(0)); dispose(batch); }
  assert.deepEqual(sizes, [4], 'the all-bad batches yield nothing; no wrong label slips in');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^kestrel: skipped 6 of 10 images: /);
  for (const [kind, file] of Object.entries(files)) {
    assert.ok(loader.skipped.items.some((b) => b.file === file && REASONS[kind].test(b.reason)), `${kind}: ${JSON.stringify(loader.skipped.items)}`);
  }
  const strict = new ImageLoader(dataset, { batchSize: 4, workers: 2, transforms: { size: 8 }, onBadImage: 'error' });
  await assert.rejects(async () => { for await (const batch of strict) dispose(batch); }, /bad image .*truncated\.jpg: truncated JPEG/);
  await loader.close();
  assert.equal(memory().liveTensors, live);
});
