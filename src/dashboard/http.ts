/** The small, strict HTTP layer of Kestrel's local pages: safe static paths, GET/HEAD only, security headers, SSE. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.map': 'application/json; charset=utf-8',
};

export { escapeHtml } from '../interpret/index.js';

/** Kestrel's package folder (where package.json is), found from this file. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      try {
        if ((JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string }).name === 'kestrel') return dir;
      } catch { /* keep looking */ }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('dashboard: cannot find Kestrel\'s package.json');
    dir = parent;
  }
}

/**
 * The relative file path a URL path names under a static root, or null when it could leave the root: `..`
 * segments (also percent-encoded, double-encoded or with backslashes), encoded slashes, NUL and absolute paths
 * are all refused rather than cleaned up.
 */
export function safeRelativePath(urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (/%|\\|\0/.test(decoded) || /%2f|%5c/i.test(urlPath)) return null;
  const parts = decoded.split('/').filter((p) => p !== '');
  if (parts.some((p) => p === '..' || p === '.' || p.startsWith('..'))) return null;
  const relative = normalize(parts.join(sep));
  if (relative.startsWith('..') || relative.startsWith(sep)) return null;
  return relative;
}

/** Content-Security-Policy of the pages: only our own scripts (and the listed inline hashes), no eval, no remote anything. */
export function contentSecurityPolicy(inlineScripts: readonly string[] = []): string {
  const hashes = inlineScripts.map((s) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`);
  return [
    "default-src 'none'", `script-src 'self' ${hashes.join(' ')}`.trim(), "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
    "connect-src 'self'", "font-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
  ].join('; ');
}

/** Writes a response with the security headers every answer carries. */
export function send(res: ServerResponse, status: number, body: string | Buffer, type = 'text/plain; charset=utf-8', headers: Record<string, string> = {}): void {
  const data = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, {
    'Content-Type': type, 'Content-Length': String(data.length), 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store', 'Cross-Origin-Resource-Policy': 'same-origin', 'X-Frame-Options': 'DENY', ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : data);
}

/** Sends JSON. */
export function sendJson(res: ServerResponse, value: unknown, status = 200): void {
  send(res, status, JSON.stringify(value), TYPES['.json']);
}

/** Serves `relative` from `root` if it is a file there (GET/HEAD); false when there is no such file. */
export function serveFile(res: ServerResponse, root: string, relative: string, headers: Record<string, string> = {}): boolean {
  const path = join(root, relative);
  if (!path.startsWith(root + sep) || !existsSync(path) || !statSync(path).isFile()) return false;
  send(res, 200, readFileSync(path), TYPES[extname(path)] ?? 'application/octet-stream', headers);
  return true;
}

/** Whether the Host header names this machine (guards a loopback server against DNS rebinding). */
export function isLocalHost(req: IncomingMessage): boolean {
  const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}

/** A server-sent-events stream: keeps the response open and writes `event`/`data` frames. */
export class SseClient {
  /** Opens the stream on `res`. */
  constructor(readonly res: ServerResponse) {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Content-Type-Options': 'nosniff', 'X-Accel-Buffering': 'no' });
    res.write(': kestrel\n\n');
  }

  /** Sends one event (JSON data). */
  send(event: string, data: unknown): void {
    if (!this.res.writableEnded) this.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends the stream. */
  close(): void { if (!this.res.writableEnded) this.res.end(); }
}
