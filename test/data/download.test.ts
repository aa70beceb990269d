import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DownloadError, download } from '../../src/data/download.js';
import { kestrelHome } from '../../src/data/cache.js';
import type { DownloadProgress } from '../../src/data/progress.js';
import { bytes, digest, sendBytes, startServer, tempDir } from './download-helpers.js';

const BODY = bytes(200_000);
const SHA = digest(BODY);

async function withServer(handler: Parameters<typeof startServer>[0], body: (server: Awaited<ReturnType<typeof startServer>>, dir: string) => Promise<void>): Promise<void> {
  const server = await startServer(handler);
  const { dir, cleanup } = tempDir();
  try { await body(server, dir); } finally { await server.close(); cleanup(); }
}

test('download writes the file, checks sha256 and md5, reports progress, leaves no partial file', async () => {
  await withServer((req, res) => sendBytes(req, res, BODY), async (server, dir) => {
    const dest = join(dir, 'sub', 'data.bin');
    const seen: DownloadProgress[] = [];
    const path = await download(server.url('/data.bin'), { dest, sha256: SHA, md5: digest(BODY, 'md5'), onProgress: (p) => seen.push({ ...p }) });
    assert.equal(path, dest);
    assert.ok(readFileSync(dest).equals(BODY));
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['data.bin']);
    const last = seen[seen.length - 1];
    assert.deepEqual([last.done, last.received, last.total, last.resumedFrom], [true, BODY.length, BODY.length, 0]);
    assert.ok(seen.length > 1 && seen.every((p, i) => i === 0 || p.received >= seen[i - 1].received));
    // A second call finds the verified file and makes no request.
    await download(server.url('/data.bin'), { dest, sha256: SHA.toUpperCase() });
    assert.equal(server.requests.length, 1);
  });
});

test('a wrong checksum names the URL and both hashes, and leaves no file that looks complete', async () => {
  await withServer((req, res) => sendBytes(req, res, BODY), async (server, dir) => {
    const dest = join(dir, 'data.bin');
    const wrong = 'ab'.repeat(32);
    const url = server.url('/data.bin');
    await assert.rejects(download(url, { dest, sha256: wrong }), (error: DownloadError) => {
      assert.equal(error.message, `checksum mismatch for ${url}: expected sha256 ${wrong}, got ${SHA}; the download was deleted`);
      assert.equal(error.kind, 'checksum');
      return true;
    });
    assert.deepEqual(readdirSync(dir), []);
    const md5 = digest(BODY, 'md5');
    await assert.rejects(download(url, { dest, sha256: SHA, md5: '0'.repeat(32) }), new RegExp(`expected md5 0{32}, got ${md5}`));
    assert.deepEqual(readdirSync(dir), []);
  });
});

test('a connection cut halfway fails clearly, keeps the partial file, and the next call resumes with Range', async () => {
  let calls = 0;
  await withServer((req, res) => {
    calls += 1;
    sendBytes(req, res, BODY, calls === 1 ? { cutAfter: 80_000 } : {});
  }, async (server, dir) => {
    const dest = join(dir, 'data.bin');
    const url = server.url('/data.bin');
    await assert.rejects(download(url, { dest, sha256: SHA }), (error: DownloadError) => {
      assert.match(error.message, new RegExp(`^download of ${url} failed: connection lost after \\d+ of 200000 bytes \\(.+\\); the partial file ${dest}\\.partial is kept, call again to resume$`));
      assert.equal(error.kind, 'network');
      return true;
    });
    assert.equal(existsSync(dest), false, 'no file under the final name');
    const kept = statSync(`${dest}.partial`).size;
    assert.ok(kept > 0 && kept <= 80_000, `partial size ${kept}`);
    const seen: DownloadProgress[] = [];
    await download(url, { dest, sha256: SHA, onProgress: (p) => seen.push(p) });
    assert.ok(readFileSync(dest).equals(BODY));
    assert.equal(existsSync(`${dest}.partial`), false);
    assert.deepEqual(server.requests.map((r) => r.range), [undefined, `bytes=${kept}-`]);
    assert.equal(seen[0].resumedFrom, kept);
    assert.equal(seen[seen.length - 1].received, BODY.length);
  });
});

test('a server that ignores Range gets a full download over the stale partial file', async () => {
  await withServer((req, res) => sendBytes(req, res, BODY, { ignoreRange: true }), async (server, dir) => {
    const dest = join(dir, 'data.bin');
    writeFileSync(`${dest}.partial`, Buffer.alloc(5000, 0xee)); // NOTE: wrong bytes: appending would corrupt the file
    await download(server.url('/data.bin'), { dest, sha256: SHA });
    assert.ok(readFileSync(dest).equals(BODY));
    assert.equal(server.requests[0].range, 'bytes=5000-');
  });
});

test('a partial file as long as the resource (416) starts over', async () => {
  await withServer((req, res) => sendBytes(req, res, BODY), async (server, dir) => {
    const dest = join(dir, 'data.bin');
    writeFileSync(`${dest}.partial`, Buffer.alloc(BODY.length + 10));
    await download(server.url('/data.bin'), { dest, sha256: SHA });
    assert.ok(readFileSync(dest).equals(BODY));
    assert.deepEqual(server.requests.map((r) => r.range), [`bytes=${BODY.length + 10}-`, undefined]);
  });
});

test('redirects are followed (relative and absolute), with a limit', async () => {
  await withServer((req, res) => {
    if (req.url === '/old') { res.writeHead(301, { location: '/mid' }); res.end(); return; }
    if (req.url === '/mid') { res.writeHead(307, { location: `http://127.0.0.1:${req.socket.localPort}/files/new.bin` }); res.end(); return; }
    if (req.url === '/loop') { res.writeHead(302, { location: '/loop' }); res.end(); return; }
    if (req.url === '/nowhere') { res.writeHead(302); res.end(); return; }
    sendBytes(req, res, BODY);
  }, async (server, dir) => {
    const dest = join(dir, 'data.bin');
    await download(server.url('/old'), { dest, sha256: SHA });
    assert.ok(readFileSync(dest).equals(BODY));
    assert.deepEqual(server.requests.map((r) => r.path), ['/old', '/mid', '/files/new.bin']);
    const loop = server.url('/loop');
    await assert.rejects(download(loop, { dest: join(dir, 'loop.bin'), sha256: SHA, maxRedirects: 3 }), {
      message: `download of ${loop} failed: more than 3 redirects (last to /loop)`,
    });
    await assert.rejects(download(server.url('/nowhere'), { dest: join(dir, 'x.bin'), sha256: SHA }), /HTTP 302 redirect without a Location header/);
    assert.deepEqual(readdirSync(dir), ['data.bin']);
  });
});

test('HTTP errors and network errors name the URL', async () => {
  await withServer((_req, res) => { res.writeHead(404); res.end('nope'); }, async (server, dir) => {
    const url = server.url('/missing.bin');
    await assert.rejects(download(url, { dest: join(dir, 'm.bin'), sha256: SHA }), (error: DownloadError) => {
      assert.equal(error.message, `download of ${url} failed: HTTP 404 Not Found`);
      assert.deepEqual([error.kind, error.status], ['http', 404]);
      return true;
    });
    assert.deepEqual(readdirSync(dir), []);
  });
  const closed = await startServer(() => {});
  const url = closed.url('/x.bin');
  await closed.close();
  const { dir, cleanup } = tempDir();
  try {
    await assert.rejects(download(url, { dest: join(dir, 'x.bin'), sha256: SHA }), { message: `download of ${url} failed: connect ECONNREFUSED ${new URL(url).host}` });
    await assert.rejects(download('ftp://example.com/x', { dest: join(dir, 'x.bin'), sha256: SHA }), /unsupported protocol 'ftp:'/);
    await assert.rejects(download('http://x/y', { dest: join(dir, 'x.bin') }), /a sha256 or md5 checksum is required/);
    await assert.rejects(download('http://x/y', { dest: join(dir, 'x.bin'), sha256: 'abc' }), /sha256 must be 64 hex digits, got 'abc'/);
  } finally { cleanup(); }
});

test('a silent server times out; an aborted download keeps its partial file', async () => {
  await withServer((req, res) => {
    if (req.url === '/silent') return; // never answers
    res.writeHead(200, { 'content-length': BODY.length });
    res.write(BODY.subarray(0, 50_000)); // then stalls
  }, async (server, dir) => {
    const url = server.url('/silent');
    await assert.rejects(download(url, { dest: join(dir, 's.bin'), sha256: SHA, timeoutMs: 200 }), (error: DownloadError) => {
      assert.equal(error.message, `download of ${url} failed: ETIMEDOUT: no data for 0.2 s`);
      assert.equal(error.kind, 'timeout');
      return true;
    });
    const stalled = server.url('/stall');
    await assert.rejects(download(stalled, { dest: join(dir, 't.bin'), sha256: SHA, timeoutMs: 300 }), {
      message: `download of ${stalled} failed: connection lost after 50000 of 200000 bytes (ETIMEDOUT: no data for 0.3 s); the partial file ${join(dir, 't.bin')}.partial is kept, call again to resume`,
    });
    const controller = new AbortController();
    const dest = join(dir, 'a.bin');
    const pending = download(server.url('/stall'), {
      dest, sha256: SHA, signal: controller.signal,
      onProgress: (p) => { if (p.received >= 50_000) controller.abort(); },
    });
    await assert.rejects(pending, (error: DownloadError) => {
      assert.equal(error.kind, 'aborted');
      assert.match(error.message, /was aborted after 50000 bytes; the partial file .*a\.bin\.partial is kept for a resume/);
      return true;
    });
    assert.equal(existsSync(dest), false);
    assert.ok(existsSync(`${dest}.partial`));
  });
});

test('two downloads into the same file: the second fails clearly; a stale lock is taken over', async () => {
  await withServer((req, res) => { setTimeout(() => sendBytes(req, res, BODY), 100); }, async (server, dir) => {
    const dest = join(dir, 'data.bin');
    const first = download(server.url('/data.bin'), { dest, sha256: SHA });
    await assert.rejects(download(server.url('/data.bin'), { dest, sha256: SHA }), (error: DownloadError) => {
      assert.equal(error.kind, 'busy');
      assert.equal(error.message, `download of ${server.url('/data.bin')}: '${dest}' is already being downloaded by process ${process.pid} (lock file ${dest}.lock)`);
      return true;
    });
    await first;
    assert.deepEqual(readdirSync(dir), ['data.bin']);
    const other = join(dir, 'other.bin');
    writeFileSync(`${other}.lock`, '999999999'); // NOTE: no such process
    await download(server.url('/data.bin'), { dest: other, sha256: SHA });
    assert.deepEqual(readdirSync(dir).sort(), ['data.bin', 'other.bin']);
  });
});

test('a cached file with the wrong content is downloaded again', async () => {
  await withServer((req, res) => sendBytes(req, res, BODY), async (server, dir) => {
    const dest = join(dir, 'data.bin');
    writeFileSync(dest, 'stale');
    await download(server.url('/data.bin'), { dest, sha256: SHA });
    assert.ok(readFileSync(dest).equals(BODY));
    assert.equal(server.requests.length, 1);
  });
});

test('the cache dir: KESTREL_HOME, then XDG_CACHE_HOME/kestrel, then ~/.cache/kestrel; downloads default there', async () => {
  assert.equal(kestrelHome({ KESTREL_HOME: '/data/k', XDG_CACHE_HOME: '/xdg' }), '/data/k');
  assert.equal(kestrelHome({ XDG_CACHE_HOME: '/xdg' }), '/xdg/kestrel');
  assert.match(kestrelHome({ XDG_CACHE_HOME: 'relative' }), /\/\.cache\/kestrel$/);
  assert.match(kestrelHome({}), /\/\.cache\/kestrel$/);
  await withServer((req, res) => sendBytes(req, res, BODY), async (server, dir) => {
    const saved = process.env.KESTREL_HOME;
    process.env.KESTREL_HOME = dir;
    try {
      const path = await download(server.url('/files/data.bin?x=1'), { sha256: SHA });
      assert.equal(path, join(dir, 'downloads', 'data.bin'));
      assert.ok(readFileSync(path).equals(BODY));
    } finally {
      if (saved === undefined) delete process.env.KESTREL_HOME; else process.env.KESTREL_HOME = saved;
    }
  });
});
