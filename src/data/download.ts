/**
 * Resumable, verified, atomic downloads over node's http/https: bytes go to `<dest>.partial`, an
 * existing partial file is resumed with an HTTP Range request, the checksum is verified on the
 * whole file, and only then is it renamed to `dest`. An interrupted or corrupt download never
 * leaves a file under the final name.
 */
import { closeSync, createWriteStream, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { basename, dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type HashAlgorithm, hashFile, kestrelHome } from './cache.js';
import type { DownloadProgress } from './progress.js';

/** What went wrong in a download; `kind` lets callers decide whether another mirror may help. */
export type DownloadErrorKind = 'http' | 'network' | 'timeout' | 'redirect' | 'checksum' | 'aborted' | 'busy';

/** A failed download; the message always names the URL. */
export class DownloadError extends Error {
  override name = 'DownloadError';
  /** Creates the error (`status` is the HTTP status for kind 'http'). */
  constructor(message: string, readonly url: string, readonly kind: DownloadErrorKind, readonly status?: number, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Options of {@link download}; at least one of `sha256` and `md5` is required. */
export interface DownloadOptions {
  /** Expected SHA-256 of the whole file (hex). */
  sha256?: string;
  /** Expected MD5 of the whole file (hex), for sources that publish only MD5. */
  md5?: string;
  /** Expected start of the file's SHA-256 (8 or more hex digits), as torchvision's file names carry it. */
  sha256Prefix?: string;
  /** Final path (default `<kestrelHome>/downloads/<file name of the URL>`). */
  dest?: string;
  /** Called as bytes arrive (see progressPrinter for a ready-made display). */
  onProgress?: (progress: DownloadProgress) => void;
  /** Aborts the transfer; the partial file is kept for a later resume. */
  signal?: AbortSignal;
  /** Fails when the server sends nothing for this long (default 30000 ms). */
  timeoutMs?: number;
  /** Most redirects followed (default 5). */
  maxRedirects?: number;
}

/** The expected digests of a download, checked and lower-cased (a digest shorter than its algorithm's is a prefix). */
export function expectedDigests(options: { sha256?: string; md5?: string; sha256Prefix?: string }, what: string): [HashAlgorithm, string][] {
  const digests: [HashAlgorithm, string][] = [];
  for (const [algorithm, length] of [['sha256', 64], ['md5', 32]] as const) {
    const value = options[algorithm];
    if (value === undefined) continue;
    if (!new RegExp(`^[0-9a-fA-F]{${length}}$`).test(value)) throw new Error(`${what}: ${algorithm} must be ${length} hex digits, got '${value}'`);
    digests.push([algorithm, value.toLowerCase()]);
  }
  if (options.sha256Prefix !== undefined) {
    if (!/^[0-9a-fA-F]{8,64}$/.test(options.sha256Prefix)) throw new Error(`${what}: sha256Prefix must be 8 to 64 hex digits, got '${options.sha256Prefix}'`);
    digests.push(['sha256', options.sha256Prefix.toLowerCase()]);
  }
  if (digests.length === 0) throw new Error(`${what}: a sha256 or md5 checksum is required (Kestrel never keeps unverified downloads)`);
  return digests;
}

/** The first digest of `path` that differs from the expected ones (or prefixes), or undefined when all match. */
export async function findDigestMismatch(path: string, digests: [HashAlgorithm, string][]): Promise<{ algorithm: HashAlgorithm; expected: string; actual: string } | undefined> {
  for (const [algorithm, expected] of digests) {
    const actual = await hashFile(path, algorithm);
    if (!actual.startsWith(expected)) return { algorithm, expected, actual };
  }
  return undefined;
}

/**
 * Downloads `url` to `options.dest`, resuming a partial file, verifying the checksum and renaming
 * atomically. Resolves to the final path; returns at once when `dest` already has the right checksum.
 */
export async function download(url: string, options: DownloadOptions): Promise<string> {
  const digests = expectedDigests(options, `download of ${url}`);
  const dest = options.dest ?? join(kestrelHome(), 'downloads', basename(new URL(url).pathname) || 'download');
  mkdirSync(dirname(dest), { recursive: true });
  if (existsSync(dest)) {
    if ((await findDigestMismatch(dest, digests)) === undefined) return dest;
    // NOTE: a cached file with the wrong content (edited, bit rot, other version) is replaced.
    rmSync(dest, { force: true });
  }
  const partial = `${dest}.partial`;
  const release = acquireLock(dest, url);
  try {
    await transfer(url, partial, options);
    const mismatch = await findDigestMismatch(partial, digests);
    if (mismatch) {
      rmSync(partial, { force: true });
      throw new DownloadError(`checksum mismatch for ${url}: expected ${mismatch.algorithm} ${mismatch.expected}, got ${mismatch.actual}; the download was deleted`, url, 'checksum');
    }
    const fd = openSync(partial, 'r+');
    try { fsyncSync(fd); } finally { closeSync(fd); }
    renameSync(partial, dest);
    return dest;
  } finally {
    release();
  }
}

// NOTE: two downloads into one partial file would interleave bytes; a lock file holding the pid
// makes the second one fail clearly, and a lock left by a dead process is taken over.
function acquireLock(dest: string, url: string): () => void {
  const lock = `${dest}.lock`;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const fd = openSync(lock, 'wx');
      try { writeSync(fd, String(process.pid)); } finally { closeSync(fd); }
      return () => rmSync(lock, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = Number.parseInt(readLock(lock), 10);
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
      throw new DownloadError(`download of ${url}: '${dest}' is already being downloaded by process ${pid} (lock file ${lock})`, url, 'busy');
    }
    rmSync(lock, { force: true });
  }
  throw new DownloadError(`download of ${url}: cannot take the lock ${lock}`, url, 'busy');
}

function readLock(lock: string): string {
  try { return readFileSync(lock, 'utf8'); } catch { return ''; }
}

function processAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (error) { return (error as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Fetches the bytes into `partial`, resuming when it exists. */
async function transfer(url: string, partial: string, options: DownloadOptions): Promise<void> {
  let offset = existsSync(partial) ? statSync(partial).size : 0;
  let { response, finalUrl } = await follow(url, offset > 0 ? { range: `bytes=${offset}-` } : {}, options);
  let total: number | undefined;
  if (offset > 0 && response.statusCode === 206) {
    const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(response.headers['content-range'] ?? '');
    if (range && Number(range[1]) === offset) {
      total = range[2] === '*' ? undefined : Number(range[2]);
    } else {
      // NOTE: a 206 for some other range cannot be appended; start again without Range.
      response.destroy();
      offset = 0;
      ({ response, finalUrl } = await follow(url, {}, options));
    }
  } else if (offset > 0 && response.statusCode === 416) {
    // NOTE: 416 means the partial file is at least as long as the resource: it is not a prefix we can extend.
    response.resume();
    offset = 0;
    ({ response, finalUrl } = await follow(url, {}, options));
  } else {
    // NOTE: status 200 to a Range request means the server ignores Range: take the whole body.
    offset = 0;
  }
  if (offset === 0) {
    if (response.statusCode !== 200) throw httpError(finalUrl, response);
    const length = Number(response.headers['content-length']);
    total = Number.isFinite(length) && response.headers['content-length'] !== undefined ? length : undefined;
  }
  let received = offset;
  const report = (done: boolean): void => options.onProgress?.({ url: finalUrl, received, total, resumedFrom: offset, done });
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      report(false);
      callback(null, chunk);
    },
  });
  // NOTE: opened synchronously so the partial file exists even when the transfer fails at once.
  const fd = openSync(partial, offset > 0 ? 'a' : 'w');
  try {
    await pipeline(response, counter, createWriteStream(partial, { fd }), options.signal ? { signal: options.signal } : {});
  } catch (error) {
    if (options.signal?.aborted) throw new DownloadError(`download of ${finalUrl} was aborted after ${received} bytes; the partial file ${partial} is kept for a resume`, finalUrl, 'aborted', undefined, { cause: error });
    const of = total === undefined ? '' : ` of ${total}`;
    const kind = (error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? 'timeout' : 'network';
    throw new DownloadError(`download of ${finalUrl} failed: connection lost after ${received}${of} bytes (${describe(error)}); the partial file ${partial} is kept, call again to resume`, finalUrl, kind, undefined, { cause: error });
  }
  if (total !== undefined && received !== total) {
    throw new DownloadError(`download of ${finalUrl} failed: the server sent ${received} of ${total} bytes; the partial file ${partial} is kept, call again to resume`, finalUrl, 'network');
  }
  report(true);
}

function httpError(url: string, response: IncomingMessage): DownloadError {
  response.resume();
  return new DownloadError(`download of ${url} failed: HTTP ${response.statusCode} ${response.statusMessage ?? ''}`.trimEnd(), url, 'http', response.statusCode);
}

function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  const message = String(e?.message ?? error);
  return e.code && !message.includes(e.code) ? `${e.code}: ${message}` : message;
}

/** GETs `url`, following redirects; resolves to the first non-redirect response. */
async function follow(url: string, headers: Record<string, string>, options: DownloadOptions): Promise<{ response: IncomingMessage; finalUrl: string }> {
  const limit = options.maxRedirects ?? 5;
  let current = url;
  for (let hops = 0; ; hops += 1) {
    const response = await get(current, headers, options);
    const status = response.statusCode ?? 0;
    if (![301, 302, 303, 307, 308].includes(status)) {
      if (status !== 200 && status !== 206 && status !== 416) throw httpError(current, response);
      return { response, finalUrl: current };
    }
    response.resume();
    const location = response.headers.location;
    if (!location) throw new DownloadError(`download of ${current} failed: HTTP ${status} redirect without a Location header`, current, 'redirect', status);
    if (hops >= limit) throw new DownloadError(`download of ${url} failed: more than ${limit} redirects (last to ${location})`, url, 'redirect', status);
    current = new URL(location, current).toString();
  }
}

function get(url: string, headers: Record<string, string>, options: DownloadOptions): Promise<IncomingMessage> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    let parsed: URL;
    try { parsed = new URL(url); } catch { reject(new DownloadError(`cannot download '${url}': not a valid URL`, url, 'network')); return; }
    const client = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : undefined;
    if (!client) { reject(new DownloadError(`cannot download ${url}: unsupported protocol '${parsed.protocol}'`, url, 'network')); return; }
    let response: IncomingMessage | undefined;
    const request = client.get(parsed, { headers: { 'user-agent': 'kestrel', ...headers }, timeout: timeoutMs, ...(options.signal ? { signal: options.signal } : {}) }, (r) => { response = r; resolve(r); });
    // NOTE: the socket timeout also covers a stalled body; the response is destroyed first so the
    // body stream fails with the timeout as its reason (not a bare 'aborted').
    request.on('timeout', () => {
      const error = Object.assign(new Error(`no data for ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' });
      response?.destroy(error);
      request.destroy(error);
    });
    request.on('error', (error) => {
      if (options.signal?.aborted) reject(new DownloadError(`download of ${url} was aborted`, url, 'aborted', undefined, { cause: error }));
      else {
        const kind = (error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? 'timeout' : 'network';
        reject(new DownloadError(`download of ${url} failed: ${describe(error)}`, url, kind, undefined, { cause: error }));
      }
    });
  });
}
