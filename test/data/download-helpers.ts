/** Test helpers for downloads and CIFAR files: a 127.0.0.1 HTTP server, a tar.gz writer, CIFAR records. */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** A request the test server saw. */
export interface SeenRequest { path: string; range?: string }

/** A running local server. */
export interface TestServer {
  /** Absolute URL of a path on this server. */
  url(path: string): string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

/** Starts an HTTP server on 127.0.0.1 (random port) that records every request. */
export async function startServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ path: req.url ?? '', range: req.headers.range });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    requests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** Options of {@link sendBytes}. */
export interface SendOptions {
  /** Answer 200 with the whole body even when a Range header is present. */
  ignoreRange?: boolean;
  /** Send only this many bytes of the (full) response, then destroy the socket. */
  cutAfter?: number;
}

/** Serves `body`, honouring `Range: bytes=N-` with 206 unless told otherwise. */
export function sendBytes(req: IncomingMessage, res: ServerResponse, body: Buffer, options: SendOptions = {}): void {
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  let payload = body;
  if (range && !options.ignoreRange) {
    const start = Number(range[1]);
    if (start >= body.length) { res.writeHead(416, { 'content-range': `bytes */${body.length}` }); res.end(); return; }
    payload = body.subarray(start);
    res.writeHead(206, { 'content-length': payload.length, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
  } else {
    res.writeHead(200, { 'content-length': body.length });
  }
  if (options.cutAfter === undefined) { res.end(payload); return; }
  // NOTE: flush the first part, give the client time to receive it, then cut the connection.
  res.write(payload.subarray(0, options.cutAfter), () => setTimeout(() => res.socket?.destroy(), 150));
}

/** Deterministic pseudo-random bytes. */
export function bytes(count: number, seed = 1): Buffer {
  const out = Buffer.alloc(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i += 1) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

/** Hex digest of a buffer. */
export function digest(data: Buffer, algorithm: 'sha256' | 'md5' = 'sha256'): string {
  return createHash(algorithm).update(data).digest('hex');
}

/** A fresh temporary directory and its cleanup. */
export function tempDir(prefix = 'kestrel-data-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function tarHeader(name: string, size: number, type: '0' | '5'): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write(type === '5' ? '0000755\0' : '0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write(type, 156);
  header.write('ustar\0' + '00', 257, 'latin1');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return header;
}

/** A gzipped ustar archive of these folders (names ending in '/') and files (names under 100 bytes). */
export function tarGz(entries: { name: string; data?: Buffer }[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    if (entry.name.endsWith('/')) { parts.push(tarHeader(entry.name, 0, '5')); continue; }
    const data = entry.data ?? Buffer.alloc(0);
    parts.push(tarHeader(entry.name, data.length, '0'), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(parts));
}

/** The pixel byte `j` (0..3071) of CIFAR record `i` in test files. */
export function cifarPixel(i: number, j: number): number {
  return (i * 31 + j * 7) & 255;
}

/** CIFAR records: each record's label bytes (1 for CIFAR-10, 2 for CIFAR-100), then 3072 pixel bytes; `first` offsets the pixel pattern. */
export function cifarRecords(labels: number[][], first = 0): Buffer {
  const recordBytes = labels[0].length + 3072;
  const out = Buffer.alloc(labels.length * recordBytes);
  labels.forEach((label, r) => {
    const offset = r * recordBytes;
    label.forEach((value, k) => { out[offset + k] = value; });
    for (let j = 0; j < 3072; j += 1) out[offset + label.length + j] = cifarPixel(first + r, j);
  });
  return out;
}

/** The ten CIFAR-10 class names as batches.meta.txt lists them. */
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
