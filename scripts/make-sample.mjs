#!/usr/bin/env node
// Writes data/sample: a stratified, seeded subset of Debian's Fashion-MNIST (300 train and 100
// test images per class) as gzipped IDX files. Build first (npx tsc -p .), then run:
//   node scripts/make-sample.mjs [fashionDir] [outDir]
import { mkdirSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { encodeIdx, readIdx, FASHION_MNIST_CLASSES } from '../dist/src/data/index.js';
import { Random } from '../dist/src/tensor/index.js';

const source = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const out = process.argv[3] ? `${process.argv[3].replace(/\/$/, '')}/` : new URL('../data/sample/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });

function pick(prefix, perClass, seed) {
  const images = readIdx(`${source}/${prefix}-images-idx3-ubyte.gz`);
  const labels = readIdx(`${source}/${prefix}-labels-idx1-ubyte.gz`);
  const order = new Random(seed).permutation(labels.shape[0]);
  const counts = new Array(10).fill(0);
  const chosen = [];
  for (const i of order) if (counts[labels.data[i]]++ < perClass) chosen.push(i);
  const size = 28 * 28;
  const pixels = new Uint8Array(chosen.length * size);
  chosen.forEach((i, k) => pixels.set(images.data.subarray(i * size, (i + 1) * size), k * size));
  const picked = Uint8Array.from(chosen, (i) => labels.data[i]);
  writeFileSync(`${out}${prefix}-images-idx3-ubyte.gz`, gzipSync(encodeIdx({ type: 'uint8', shape: [chosen.length, 28, 28], data: pixels }), { level: 9 }));
  writeFileSync(`${out}${prefix}-labels-idx1-ubyte.gz`, gzipSync(encodeIdx({ type: 'uint8', shape: [chosen.length], data: picked }), { level: 9 }));
  return chosen.length;
}

const train = pick('train', 300, 1);
const test = pick('t10k', 100, 2);
writeFileSync(`${out}classes.txt`, FASHION_MNIST_CLASSES.join('\n') + '\n');
console.log(`wrote ${train} train and ${test} test images to ${out}`);
