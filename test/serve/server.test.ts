import test from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { memory } from '../../src/tensor/index.js';
import { loadModel } from '../../src/io/index.js';
import { InferenceServer, ServedModel } from '../../src/serve/index.js';
import { saveBundle, temp, writeImages } from '../io/predict-fixtures.js';

interface Answer { status: number; body: Record<string, unknown> }

async function post(url: string, body: Buffer | FormData, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${url}/predict`, { method: 'POST', body, headers });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
}

async function start(dirs: string[], options: { maxDelayMs?: number; maxBatchSize?: number; requestTimeoutMs?: number; maxBodyBytes?: number; maxPixels?: number } = {}) {
  const served = new ServedModel(dirs.map((d) => loadModel(d)), { maxDelayMs: options.maxDelayMs ?? 5, maxBatchSize: options.maxBatchSize ?? 16, maxPixels: options.maxPixels });
  const server = new InferenceServer(served, { port: 0, requestTimeoutMs: options.requestTimeoutMs ?? 10_000, maxBodyBytes: options.maxBodyBytes, log: () => undefined });
  const { url, host } = await server.listen();
  return { served, server, url, host, stop: async () => { await server.close(); served.dispose(); } };
}

/** A PNG whose header claims width x height (valid chunk CRCs), with no usable pixel data. */
function pngHeader(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', Buffer.alloc(16)), chunk('IEND', Buffer.alloc(0))]);
}

test('binds loopback by default and answers raw and multipart requests with the bundle\'s probabilities', async () => {
  const dir = saveBundle(21);
  const files = await writeImages(temp(), [[16, 16], [24, 16], [16, 16]]);
  const { url, host, stop } = await start([dir]);
  try {
    assert.equal(host, '127.0.0.1');
    const loaded = loadModel(dir);
    const expected = (await loaded.predict(files)).predictions;
    loaded.dispose();
    const raw = await post(url, readFileSync(files[0]), { 'Content-Type': 'image/png' });
    assert.equal(raw.status, 200);
    const first = (raw.body.predictions as { label: string; probability: number; top: { label: string; probability: number }[] }[])[0];
    assert.equal(first.label, expected[0].label);
    assert.ok(Math.abs(first.probability - expected[0].probability) < 1e-6);
    assert.equal(first.top.length, 3);
    const form = new FormData();
    files.forEach((f, i) => form.append(`image${i}`, new Blob([readFileSync(f)], { type: 'image/png' }), `photo-${i}.png`));
    const multi = await post(`${url}`, form);
    assert.equal(multi.status, 200);
    const predictions = multi.body.predictions as { file: string; label: string; probability: number }[];
    assert.deepEqual(predictions.map((p) => p.file), ['photo-0.png', 'photo-1.png', 'photo-2.png']);
    predictions.forEach((p, i) => assert.ok(Math.abs(p.probability - expected[i].probability) < 1e-6));
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, 'ok');
    const wrong = await fetch(`${url}/predict`);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    const missing = await fetch(`${url}/../etc/passwd`);
    assert.equal(missing.status, 404);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /kestrel_requests_total\{route="\/predict",code="200"\} 2/);
    assert.match(metrics, /kestrel_images_total 4/);
    assert.match(metrics, /kestrel_request_duration_seconds_bucket\{le="0.005"\}/);
  } finally {
    await stop();
  }
});

test('concurrent requests are batched together and each gets its own answer', async () => {
  const dir = saveBundle(22);
  const files = await writeImages(temp(), Array.from({ length: 12 }, () => [16, 16] as [number, number]), 4);
  const { url, server, stop } = await start([dir], { maxDelayMs: 50, maxBatchSize: 8 });
  try {
    const loaded = loadModel(dir);
    const expected = (await loaded.predict(files)).predictions;
    loaded.dispose();
    const answers = await Promise.all(files.map((f) => post(url, readFileSync(f))));
    answers.forEach((a, i) => {
      assert.equal(a.status, 200);
      const p = (a.body.predictions as { label: string; probability: number }[])[0];
      assert.equal(p.label, expected[i].label);
      assert.ok(Math.abs(p.probability - expected[i].probability) < 1e-6);
    });
    const metrics = await server.metrics.text();
    const count = Number(/kestrel_batch_images_count (\d+)/.exec(metrics)![1]);
    const sum = Number(/kestrel_batch_images_sum (\d+)/.exec(metrics)![1]);
    assert.equal(sum, 12);
    assert.ok(count < 12, `12 concurrent requests ran in ${count} batches: batching did not happen`);
  } finally {
    await stop();
  }
});

test('under good load, 1,000 bad requests each get a 4xx JSON error, the good ones all succeed, no tensor leaks', async () => {
  const dir = saveBundle(23);
  const files = await writeImages(temp(), [[16, 16]], 6);
  const good = readFileSync(files[0]);
  const jpeg = await sharp(Buffer.alloc(64 * 64 * 3, 128), { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer();
  const { url, stop } = await start([dir], { requestTimeoutMs: 1500, maxBodyBytes: 64 * 1024 });
  const port = Number(new URL(url).port);
  const before = memory().liveTensors;
  const slowClient = () => new Promise<string>((resolve) => {
    // NOTE: announces 1000 bytes, sends 10, then stalls: the server must answer 408 on its own.
    const socket = connect(port, '127.0.0.1', () => socket.write('POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n0123456789'));
    let text = '';
    socket.on('data', (d) => { text += d.toString(); });
    socket.on('close', () => resolve(text));
    socket.on('error', () => resolve(text));
  });
  const kinds: [string, () => Promise<Answer>, RegExp, number][] = [
    ['garbage', () => post(url, Buffer.from('definitely not an image')), /not an image/, 400],
    ['truncated jpeg', () => post(url, jpeg.subarray(0, jpeg.length / 2)), /truncated|corrupt/i, 400],
    ['huge png header', () => post(url, pngHeader(100_000, 100_000)), /too large/, 413],
    ['oversized body', () => post(url, Buffer.alloc(100 * 1024, 7)), /over the limit/, 413],
  ];
  try {
    // NOTE: 1,200 requests through 32 client connections at a time (a load generator's pace, not 1,200 sockets at once).
    const tasks: (() => Promise<void>)[] = [];
    for (let i = 0; i < 980; i++) {
      const [name, send, message, status] = kinds[i % kinds.length];
      tasks.push(() => send().then((a) => {
        assert.equal(a.status, status, `${name}: ${JSON.stringify(a.body)}`);
        assert.match(String(a.body.error), message, name);
      }));
      if (i % 5 === 0) tasks.push(() => post(url, good).then((a) => assert.equal(a.status, 200, JSON.stringify(a.body))));
    }
    const slow = Array.from({ length: 20 }, () => slowClient().then((text) => {
      assert.match(text, /^HTTP\/1.1 408/);
      assert.match(text, /"error":"request took longer than 1500 ms"/);
    }));
    let next = 0;
    const worker = async () => { while (next < tasks.length) await tasks[next++](); };
    await Promise.all([...slow, ...Array.from({ length: 32 }, worker)]);
    const after = await post(url, good);
    assert.equal(after.status, 200);
    assert.equal(memory().liveTensors, before, 'tensors leaked by failed requests');
  } finally {
    await stop();
  }
});

test('an ensemble of two bundles averages their probabilities', async () => {
  const [a, b] = [saveBundle(24), saveBundle(25)];
  const files = await writeImages(temp(), [[16, 16]], 8);
  const { url, stop } = await start([a, b]);
  try {
    const [la, lb] = [loadModel(a), loadModel(b)];
    const pa = (await la.predict(files)).predictions[0].probabilities;
    const pb = (await lb.predict(files)).predictions[0].probabilities;
    la.dispose();
    lb.dispose();
    const answer = await post(url, readFileSync(files[0]));
    const top = (answer.body.predictions as { top: { label: string; probability: number }[] }[])[0].top;
    const classes = ['cat', 'dog', 'fox'];
    for (const t of top) {
      const c = classes.indexOf(t.label);
      assert.ok(Math.abs(t.probability - (pa[c] + pb[c]) / 2) < 1e-6);
    }
  } finally {
    await stop();
  }
});
