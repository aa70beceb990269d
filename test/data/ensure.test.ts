import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { readCifar10 } from '../../src/data/cifar.js';
import { datasetCacheState, ensureDataset, verifyDataset } from '../../src/data/ensure.js';
import { getDataset, listDatasets, registerDataset, unregisterDataset } from '../../src/data/registry.js';
import { extractTar } from '../../src/data/tar.js';
import { dispose } from '../../src/tensor/index.js';
import { CIFAR10_CLASSES, cifarRecords, digest, sendBytes, startServer, tarGz, tempDir } from './download-helpers.js';

/** A CIFAR-10 binary archive in the official layout: 2 records per train batch, 3 in the test batch. */
function cifarArchive(): Buffer {
  const entries: { name: string; data?: Buffer }[] = [{ name: 'cifar-10-batches-bin/' }];
  for (let b = 1; b <= 5; b += 1) entries.push({ name: `cifar-10-batches-bin/data_batch_${b}.bin`, data: cifarRecords([[b], [b + 1]], 10 * b) });
  entries.push({ name: 'cifar-10-batches-bin/test_batch.bin', data: cifarRecords([[0], [4], [8]]) });
  entries.push({ name: 'cifar-10-batches-bin/batches.meta.txt', data: Buffer.from(`${CIFAR10_CLASSES.join('\n')}\n`) });
  entries.push({ name: 'cifar-10-batches-bin/readme.html', data: Buffer.from('<html></html>') });
  return tarGz(entries);
}

test('the built-in registry: every file has a SHA-256, the MNIST files list the canonical host first', () => {
  assert.deepEqual(listDatasets().map((d) => d.name).slice(0, 4), ['mnist', 'fashion-mnist', 'cifar10', 'cifar100']);
  for (const entry of listDatasets().slice(0, 4)) {
    for (const file of entry.files) assert.match(file.sha256 ?? '', /^[0-9a-f]{64}$/, `${entry.name}/${file.name}`);
  }
  const mnist = getDataset('mnist');
  assert.deepEqual(mnist.files.map((f) => f.name), ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']);
  assert.equal(mnist.files[0].urls[0], 'http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz');
  assert.ok(mnist.files[0].urls.length >= 2);
  assert.equal(getDataset('cifar10').files[0].urls[0], 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz');
  assert.throws(() => getDataset('nope'), /unknown dataset 'nope'; known datasets: mnist, fashion-mnist, cifar10, cifar100/);
  assert.throws(() => registerDataset({ name: 'x', description: '', files: [{ name: 'a', urls: ['http://h/a'] }] }), /file 'a' needs a sha256 or md5 checksum/);
  assert.throws(() => registerDataset({ name: '../x', description: '', files: [] }), /invalid dataset name '\.\.\/x'/);
});

test('ensureDataset downloads a CIFAR-10 archive (falling back past a dead mirror), verifies, extracts, and reuses the cache', async () => {
  const archive = cifarArchive();
  const server = await startServer((req, res) => {
    if (req.url === '/dead/cifar.tar.gz') { res.writeHead(503); res.end(); return; }
    sendBytes(req, res, archive);
  });
  const { dir: root, cleanup } = tempDir();
  registerDataset({
    name: 'cifar10-local', description: 'test', dataDir: 'cifar-10-batches-bin',
    files: [{ name: 'cifar-10-binary.tar.gz', urls: [server.url('/dead/cifar.tar.gz'), server.url('/cifar.tar.gz')], sha256: digest(archive), extract: 'tar' }],
  });
  try {
    assert.equal(datasetCacheState('cifar10-local', { root }), 'absent');
    const logged: string[] = [];
    let lastReceived = 0;
    const data = await ensureDataset('cifar10-local', { root, log: (line) => logged.push(line), onProgress: (p, file) => { assert.equal(file.name, 'cifar-10-binary.tar.gz'); lastReceived = p.received; } });
    assert.equal(data, join(root, 'datasets', 'cifar10-local', 'cifar-10-batches-bin'));
    assert.equal(lastReceived, archive.length);
    assert.deepEqual(logged, [`download of ${server.url('/dead/cifar.tar.gz')} failed: HTTP 503 Service Unavailable; trying the next mirror`]);
    assert.deepEqual(readdirSync(data).sort(), ['batches.meta.txt', 'data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'readme.html', 'test_batch.bin']);
    const train = readCifar10(data);
    assert.deepEqual(train.labels.toList(), [1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
    assert.deepEqual(train.classes, CIFAR10_CLASSES);
    dispose([train.images, train.labels]);
    assert.equal(datasetCacheState('cifar10-local', { root }), 'complete');

    const requests = server.requests.length;
    assert.equal(await ensureDataset('cifar10-local', { root }), data);
    assert.equal(server.requests.length, requests, 'a cached, verified dataset makes no request');
    assert.deepEqual(await verifyDataset('cifar10-local', { root }), [{ file: 'cifar-10-binary.tar.gz', path: join(root, 'datasets', 'cifar10-local', 'cifar-10-binary.tar.gz'), status: 'ok' }]);

    // A corrupted archive is reported by verify and fetched again by ensure.
    const archivePath = join(root, 'datasets', 'cifar10-local', 'cifar-10-binary.tar.gz');
    writeFileSync(archivePath, 'garbage');
    const [bad] = await verifyDataset('cifar10-local', { root });
    assert.deepEqual([bad.status, bad.algorithm, bad.expected, bad.actual], ['mismatch', 'sha256', digest(archive), digest(Buffer.from('garbage'))]);
    await ensureDataset('cifar10-local', { root });
    assert.ok(readFileSync(archivePath).equals(archive));
  } finally {
    unregisterDataset('cifar10-local');
    await server.close();
    cleanup();
  }
});

test('ensureDataset reports every mirror when all fail, and leaves nothing under the final name', async () => {
  const server = await startServer((req, res) => {
    if (req.url === '/wrong') { sendBytes(req, res, Buffer.from('not the file')); return; }
    res.writeHead(404); res.end();
  });
  const { dir: root, cleanup } = tempDir();
  registerDataset({ name: 'broken', description: 'test', files: [{ name: 'f.bin', urls: [server.url('/gone'), server.url('/wrong')], md5: 'f'.repeat(32) }] });
  try {
    await assert.rejects(ensureDataset('broken', { root }), {
      message: `cannot download 'f.bin' of dataset 'broken' from any of its 2 URL(s):\n`
        + `  - download of ${server.url('/gone')} failed: HTTP 404 Not Found\n`
        + `  - checksum mismatch for ${server.url('/wrong')}: expected md5 ${'f'.repeat(32)}, got ${digest(Buffer.from('not the file'), 'md5')}; the download was deleted`,
    });
    assert.deepEqual(readdirSync(join(root, 'datasets', 'broken')), []);
    assert.deepEqual((await verifyDataset('broken', { root })).map((r) => r.status), ['missing']);
  } finally {
    unregisterDataset('broken');
    await server.close();
    cleanup();
  }
});

test('extractTar reads archives written by GNU tar (long names, nested folders) and refuses paths outside the destination', async (t) => {
  const { dir, cleanup } = tempDir();
  try {
    const source = join(dir, 'src');
    const long = `${'deep/'.repeat(30)}${'n'.repeat(120)}.bin`;
    mkdirSync(join(source, long, '..'), { recursive: true });
    writeFileSync(join(source, long), Buffer.alloc(70_000, 7));
    writeFileSync(join(source, 'small.txt'), 'hello');
    symlinkSync('/etc/hostname', join(source, 'link'));
    const tarball = join(dir, 'a.tar.gz');
    const made = spawnSync('tar', ['-czf', tarball, '-C', source, '.'], { encoding: 'utf8' });
    if (made.status !== 0) { t.skip(`GNU tar is not available: ${made.error?.message ?? made.stderr}`); return; }
    const entries = await extractTar(tarball, join(dir, 'out'));
    assert.ok(readFileSync(join(dir, 'out', long)).equals(Buffer.alloc(70_000, 7)));
    assert.equal(readFileSync(join(dir, 'out', 'small.txt'), 'utf8'), 'hello');
    assert.ok(entries.some((e) => e.path.endsWith(`${'n'.repeat(120)}.bin`) && e.size === 70_000 && e.type === 'file'));
    assert.equal(existsSync(join(dir, 'out', 'link')), false, 'symbolic links are skipped');
    assert.ok(!entries.some((e) => e.path.endsWith('link')));

    const evil = join(dir, 'evil.tar.gz');
    writeFileSync(evil, tarGz([{ name: 'fine.txt', data: Buffer.from('ok') }, { name: '../escape.txt', data: Buffer.from('x') }]));
    await assert.rejects(extractTar(evil, join(dir, 'out2')), { message: `refusing to extract '../escape.txt' from '${evil}': the path leaves the destination folder` });
    assert.equal(existsSync(join(dir, 'escape.txt')), false);
    assert.equal(existsSync(join(dir, 'out2')), false, 'nothing is written from a refused archive');
    const absolute = join(dir, 'absolute.tar.gz');
    writeFileSync(absolute, tarGz([{ name: '/tmp/kestrel-absolute.txt', data: Buffer.from('x') }]));
    await assert.rejects(extractTar(absolute, join(dir, 'out5')), { message: `refusing to extract '/tmp/kestrel-absolute.txt' from '${absolute}': the path leaves the destination folder` });

    const truncated = join(dir, 'cut.tar.gz');
    const whole = tarGz([{ name: 'big.bin', data: Buffer.alloc(10_000, 1) }]);
    writeFileSync(truncated, gzipSync(gunzipSync(whole).subarray(0, 512 + 4000)));
    await assert.rejects(extractTar(truncated, join(dir, 'out3')), { message: `truncated tar archive '${truncated}': 'big.bin' (10000 bytes) is cut short` });
    const corrupt = join(dir, 'bad.tar.gz');
    writeFileSync(corrupt, whole.subarray(0, 40));
    await assert.rejects(extractTar(corrupt, join(dir, 'out4')), new RegExp(`cannot extract '${corrupt.replace(/[.]/g, '\\.')}': `));
  } finally { cleanup(); }
});
