/** Test fixtures for predictions: small seeded model bundles and PNG files of random colours. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { manualSeed } from '../../src/tensor/index.js';
import { saveModel } from '../../src/io/index.js';
import { mnistCnn } from '../../src/vision/simple.js';

export const CLASSES = ['cat', 'dog', 'fox'];
export const NORMALIZE = { mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.3] };

export function temp(): string {
  return mkdtempSync(join(tmpdir(), 'kestrel-predict-'));
}

/** A seeded mnist-cnn bundle for 3x16x16 colour images. */
export function saveBundle(seed: number, classes: string[] = CLASSES, preprocess?: { resize: 'crop' | 'squish' | 'pad'; cropFraction?: number }): string {
  manualSeed(seed);
  const dir = temp();
  const model = mnistCnn(classes.length, { channels: 3, height: 16, width: 16 });
  saveModel(dir, model, {
    architecture: { name: 'mnist-cnn', options: { numClasses: classes.length, input: { channels: 3, height: 16, width: 16 } } },
    classes, inputShape: [3, 16, 16], normalize: NORMALIZE, ...(preprocess ? { preprocess } : {}),
  });
  model.dispose();
  return dir;
}

/** PNG files of random colours (some not square, so the centre crop matters). */
export async function writeImages(dir: string, sizes: [number, number][], seed = 1): Promise<string[]> {
  let state = seed;
  const next = () => { state = (state * 1103515245 + 12345) % 2 ** 31; return state % 256; };
  const files: string[] = [];
  for (const [i, [width, height]] of sizes.entries()) {
    const pixels = Buffer.from(Array.from({ length: width * height * 3 }, next));
    const file = join(dir, `${i + 1}.png`);
    await sharp(pixels, { raw: { width, height, channels: 3 } }).png().toFile(file);
    files.push(file);
  }
  return files;
}

