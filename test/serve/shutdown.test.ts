import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { saveBundle, temp, writeImages } from '../io/predict-fixtures.js';

const BIN = fileURLToPath(new URL('../../../bin/kestrel.js', import.meta.url));

test('SIGTERM under load: every request already sent is answered, then kestrel serve exits 0', async () => {
  const dir = saveBundle(31);
  const files = await writeImages(temp(), [[16, 16]], 2);
  const image = readFileSync(files[0]);
  // NOTE: a long batching delay keeps requests queued when the signal arrives.
  const child = spawn(process.execPath, [BIN, 'serve', dir, '--port', '0', '--max-delay', '300', '--max-batch', '64'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d.toString(); });
  child.stderr.on('data', (d) => { out += d.toString(); });
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
    child.stdout.on('data', () => {
      const match = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) { clearTimeout(timer); resolve(match[1]); }
    });
  });
  const requests = Array.from({ length: 24 }, () => fetch(`${url}/predict`, { method: 'POST', body: image }).then(async (r) => ({ status: r.status, body: await r.text() })));
  await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGTERM');
  const answers = await Promise.all(requests);
  for (const a of answers) assert.equal(a.status, 200, a.body);
  assert.equal(await exited, 0, out);
  assert.match(out, /SIGTERM: finishing requests in flight/);
  assert.match(out, /server stopped/);
  await assert.rejects(fetch(`${url}/healthz`), /fetch failed/);
});
