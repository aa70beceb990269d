import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { preprocessImages } from '../../src/data/index.js';
import { loadModel } from '../../src/io/index.js';
import { launchChromium, serveStatic, skipWithoutChromium, waitForText } from '../helpers/browser.js';
import { saveBundle, temp, writeImages } from '../io/predict-fixtures.js';
import { kestrel } from '../helpers/cli.js';


test('kestrel export --onnx writes a model whose onnxruntime probabilities equal kestrel predict\'s', async () => {
  const dir = saveBundle(51);
  const files = await writeImages(temp(), [[16, 16], [30, 20]], 3);
  const file = join(temp(), 'out', 'model.onnx');
  const run = kestrel('export', dir, '--onnx', file);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /exported mnist-cnn as ONNX opset 17: \d+ nodes/);
  const loaded = loadModel(dir);
  const { predictions } = await loaded.predict(files);
  const { x } = await preprocessImages(files, loaded.preprocessing);
  loaded.dispose();
  const session = await InferenceSession.create(readFileSync(file));
  const { logits } = await session.run({ input: new OrtTensor('float32', x!.toArray() as Float32Array, x!.shape) });
  x!.dispose();
  const values = logits.data as Float32Array;
  predictions.forEach((p, i) => {
    const row = Array.from(values.subarray(i * 3, i * 3 + 3));
    const max = Math.max(...row);
    const exps = row.map((v) => Math.exp(v - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    exps.forEach((e, c) => assert.ok(Math.abs(e / sum - p.probabilities[c]) < 1e-5));
  });
  const none = kestrel('export', dir);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /needs --onnx FILE and\/or --web DIR/);
});

test('the exported web page classifies a dropped image offline like kestrel predict (top 3, 3 decimals)', { skip: skipWithoutChromium() }, async () => {
  const dir = saveBundle(52);
  const images = await writeImages(temp(), [[16, 16], [40, 30], [23, 61]], 7);
  const web = join(temp(), 'web');
  const run = kestrel('export', dir, '--web', web);
  assert.equal(run.code, 0, run.stderr);
  for (const f of ['index.html', 'page.js', 'model.onnx', 'model.json', 'ort.wasm.min.js', 'ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.mjs']) {
    assert.ok(existsSync(join(web, f)), f);
  }
  const loaded = loadModel(dir);
  const { predictions } = await loaded.predict(images, { topK: 3 });
  loaded.dispose();
  const server = await serveStatic(web);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const outside: string[] = [];
    page.on('request', (r) => { if (!r.url().startsWith(server.url)) outside.push(r.url()); });
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
    for (const [i, image] of images.entries()) {
      await page.setInputFiles('#file', image);
      const name = image.split('/').pop()!;
      await waitForText(page, '#status', (t) => t.startsWith(`${name}:`));
      const rows = await page.$$eval('#top tr', (trs) => trs.map((tr) => [tr.querySelector('.label')!.textContent, tr.querySelector('.p')!.textContent]));
      assert.deepEqual(rows, predictions[i].top.map((t) => [t.label, t.probability.toFixed(3)]), `${name}`);
    }
    await page.screenshot({ path: join(temp(), 'web-page.png') });
    assert.deepEqual(outside, [], 'the page fetched nothing but its own folder');
  } finally {
    await browser.close();
    await server.close();
  }
});

test('the web page resizes images byte for byte as Kestrel does (its JavaScript against the native filter)', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const addon = createRequire(import.meta.url)(join(root, 'build/Release/kestrel_image.node')) as {
    resize(data: Uint8Array, w: number, h: number, c: number, x0: number, y0: number, x1: number, y1: number, ow: number, oh: number, fh: boolean, fv: boolean): Uint8Array;
  };
  const page = readFileSync(join(root, 'assets/web-predict/page.js'), 'utf8');
  const body = page.slice(page.indexOf('function cropRect'), page.indexOf('/** RGBA pixels'));
  type Resample = (src: Uint8Array, w: number, h: number, bands: number, outLen: number, horizontal: boolean, from: number, length: number) => Uint8Array;
  type Crop = (w: number, h: number, ow: number, oh: number, fraction: number) => { left: number; top: number; width: number; height: number };
  // NOTE: the page's own functions, compiled from its source, so the test checks what the browser runs.
  const { cropRect, resampleAxis } = new Function(`${body}; return { cropRect, resampleAxis };`)() as { cropRect: Crop; resampleAxis: Resample };
  let state = 5;
  const next = () => { state = (state * 1103515245 + 12345) % 2 ** 31; return state % 256; };
  for (const [w, h, ow, oh, fraction] of [[40, 30, 16, 16, 1], [23, 61, 16, 16, 1], [200, 150, 64, 64, 0.875], [7, 9, 32, 20, 1], [300, 301, 224, 224, 0.875]]) {
    for (const c of [1, 3]) {
      const pixels = Uint8Array.from({ length: w * h * c }, next);
      const r = cropRect(w, h, ow, oh, fraction);
      const expected = addon.resize(pixels, w, h, c, r.left, r.top, r.left + r.width, r.top + r.height, ow, oh, false, false);
      const wide = resampleAxis(pixels, w, h, c, ow, true, r.left, r.width);
      const actual = resampleAxis(wide, ow, h, c, oh, false, r.top, r.height);
      assert.deepEqual(Array.from(actual), Array.from(expected), `${w}x${h} -> ${ow}x${oh}, ${c} channels`);
    }
  }
});
