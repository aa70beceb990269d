#!/usr/bin/env node
// Writes Fashion-MNIST as PNG folders: OUT/train/<class>/*.png and OUT/valid/<class>/*.png
// (valid = the test split), to check that folder training matches the IDX path.
// Run: node scripts/fashion-png-folders.mjs OUT [limit]
import { mkdirSync } from 'node:fs';
import sharp from 'sharp';
import { loadFashionMnist } from '../dist/src/data/index.js';

const root = process.argv[2] ?? 'runs/fashion-png';
const limit = Number(process.argv[3] ?? Infinity);
for (const [split, dir] of [['train', 'train'], ['test', 'valid']]) {
  const dataset = loadFashionMnist({ split });
  const n = Math.min(limit, dataset.length);
  const pixels = dataset.images.toArray();
  const labels = dataset.labels.toArray();
  const started = Date.now();
  for (const name of dataset.classes) mkdirSync(`${root}/${dir}/${name.replace('/', '-')}`, { recursive: true });
  const jobs = [];
  for (let i = 0; i < n; i++) {
    const name = dataset.classes[Number(labels[i])].replace('/', '-');
    const raw = Buffer.from(pixels.buffer, pixels.byteOffset + i * 784, 784);
    jobs.push(sharp(raw, { raw: { width: 28, height: 28, channels: 1 } }).toColourspace('b-w').png().toFile(`${root}/${dir}/${name}/${String(i).padStart(5, '0')}.png`));
    if (jobs.length === 64) await Promise.all(jobs.splice(0));
  }
  await Promise.all(jobs);
  console.log(`${split}: ${n} PNGs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  dataset.dispose();
}
