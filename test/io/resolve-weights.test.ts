import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allClose, manualSeed } from '../../src/tensor/index.js';
import { encodeSafetensors, hashPrefixOf, loadPretrained, resolveWeights } from '../../src/io/index.js';
import { mnistCnn } from '../../src/vision/simple.js';
import { digest, sendBytes, startServer, tempDir } from '../data/download-helpers.js';

test('hashPrefixOf reads torchvision-style names', () => {
  assert.equal(hashPrefixOf('resnet34-b627a593.pth'), 'b627a593');
  assert.equal(hashPrefixOf('mobilenet_v2-7ebf99e0.pth'), '7ebf99e0');
  assert.equal(hashPrefixOf('resnet34.pth'), undefined);
  assert.equal(hashPrefixOf('model-final.pth'), undefined);
});

test('weights from a URL: downloaded into $KESTREL_HOME/models, checked against the name\'s SHA-256 prefix, reused', async () => {
  manualSeed(5);
  const model = mnistCnn(10);
  const body = encodeSafetensors(model.stateDict());
  const good = `tiny-${digest(body).slice(0, 8)}.safetensors`;
  const server = await startServer((req, res) => sendBytes(req, res, body));
  const { dir, cleanup } = tempDir();
  const home = process.env.KESTREL_HOME;
  process.env.KESTREL_HOME = dir;
  try {
    const path = await resolveWeights(server.url(`/models/${good}`));
    assert.equal(path, join(dir, 'models', good));
    assert.deepEqual(readFileSync(path), body);
    const requests = server.requests.length;
    assert.equal(await resolveWeights(server.url(`/models/${good}`)), path);
    assert.equal(server.requests.length, requests, 'a verified cached file is reused without the network');

    manualSeed(6);
    const fresh = mnistCnn(10);
    const report = await loadPretrained(fresh, server.url(`/models/${good}`));
    assert.equal(report.loaded.length, model.stateDict().size);
    for (const [name, t] of model.stateDict()) assert.ok(allClose(fresh.stateDict().get(name)!, t, 0, 0), name);
    fresh.dispose();

    // A cached file that changed is fetched again.
    writeFileSync(path, 'corrupted');
    await resolveWeights(server.url(`/models/${good}`));
    assert.deepEqual(readFileSync(path), body);
    assert.equal(server.requests.length, requests + 1);
  } finally {
    if (home === undefined) delete process.env.KESTREL_HOME; else process.env.KESTREL_HOME = home;
    await server.close();
    model.dispose();
    cleanup();
  }
});

test('a download whose SHA-256 does not start with the name\'s prefix is refused and removed', async () => {
  const body = Buffer.from('not the weights you are looking for');
  const server = await startServer((req, res) => sendBytes(req, res, body));
  const { dir, cleanup } = tempDir();
  try {
    await assert.rejects(resolveWeights(server.url('/m/resnet34-b627a593.pth'), { dir }),
      /checksum mismatch for http:\/\/127\.0\.0\.1:\d+\/m\/resnet34-b627a593\.pth: expected sha256 b627a593, got [0-9a-f]{64}; the download was deleted/);
    assert.deepEqual(readdirSync(dir), [], 'no file, no partial file');
    await assert.rejects(resolveWeights(server.url('/m/weights.pth'), { dir }), /its file name carries no SHA-256 prefix .*; pass the file's sha256/);
    const path = await resolveWeights(server.url('/m/weights.pth'), { dir, sha256: digest(body) });
    assert.deepEqual(readFileSync(path), body);
    await assert.rejects(resolveWeights(server.url('/m/weights.pth?x'), { dir, sha256: '0'.repeat(64) }), /checksum mismatch/);
    await assert.rejects(resolveWeights(join(dir, 'absent.pth')), /weights file '.*absent\.pth' does not exist/);
    assert.equal(existsSync(join(dir, 'weights.pth.partial')), false);
  } finally {
    await server.close();
    cleanup();
  }
});
