/** PageServer: serves one of Kestrel's local pages, its scripts (ours and Vega's, from node_modules) and a JSON/SSE API. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { SseClient, contentSecurityPolicy, isLocalHost, packageRoot, safeRelativePath, send, sendJson, serveFile } from './http.js';

/** Default port of `kestrel train --dashboard` and `kestrel dashboard`. */
export const DEFAULT_DASHBOARD_PORT = 8008;

/** A JSON API route: returns the value to send. */
export type ApiRoute = (req: IncomingMessage) => unknown;

/** Options of a PageServer. */
export interface PageServerOptions {
  /** Which page `/` serves: src/dashboard/static/<page>.html. */
  page: 'dashboard' | 'runs';
  /** Port (default 8008; 0 picks a free one). */
  port?: number;
  /** Address to bind (default 127.0.0.1, loopback only). */
  host?: string;
  /** GET routes under /api/ (e.g. 'state'). */
  api?: Record<string, ApiRoute>;
  /** POST actions under /api/ (e.g. 'stop'); a request must carry `X-Kestrel-Action: <name>`. */
  actions?: Record<string, () => unknown>;
  /** Called with each new events client (e.g. to send it a snapshot). */
  onClient?: (client: SseClient) => void;
}

// NOTE: vega-interpreter is an ES module importing 'vega-util' by bare name; an import map points it at a small
// module re-exporting just what it imports from vega-util's ES build (about 10 files instead of vega-util's ~50:
// a training process answers requests between batches, so fewer requests load the page sooner). The map's hash
// goes into the CSP so no other inline script can run.
const IMPORT_MAP = '{"imports":{"vega-util":"/lib/vega-util.js"}}';
const VEGA_UTIL_SUBSET = [
  "export { ascending } from '/lib/vega-util/compare.js';",
  "export { default as isString } from '/lib/vega-util/isString.js';",
  "export { DisallowedObjectProperties } from '/lib/vega-util/interpreter.js';",
].join('\n');

/** Files under /lib/: Vega's builds from node_modules and Kestrel's own chart specs. */
function libraryFiles(): { files: Record<string, string>; dirs: Record<string, string> } {
  const require = createRequire(import.meta.url);
  const vegaDir = join(dirname(require.resolve('vega')), '..');
  const vegaLiteDir = join(dirname(require.resolve('vega-lite')), '..');
  const interpreter = require.resolve('vega-interpreter');
  const vegaUtil = dirname(require.resolve('vega-util'));
  return {
    files: {
      'vega.min.js': join(vegaDir, 'build', 'vega.min.js'),
      'vega-lite.min.js': join(vegaLiteDir, 'build', 'vega-lite.min.js'),
      'vega-interpreter.js': interpreter,
      'specs.js': join(dirname(new URL(import.meta.url).pathname), '..', 'interpret', 'specs.js'),
    },
    dirs: { 'vega-util': vegaUtil },
  };
}

/** A local HTTP server for one page: GET/HEAD on fixed static paths, the listed API routes, SSE events and POST actions. */
export class PageServer {
  private server: Server | null = null;
  private readonly clients = new Set<SseClient>();
  private readonly staticDir = join(packageRoot(), 'src', 'dashboard', 'static');
  private readonly lib = libraryFiles();
  private readonly csp = contentSecurityPolicy([IMPORT_MAP]);
  /** The address bound, once started. */
  address: AddressInfo | null = null;

  /** A server for `options.page` (not yet listening). */
  constructor(readonly options: PageServerOptions) {}

  /** The page's URL (with the bound address). */
  get url(): string {
    if (!this.address) throw new Error('PageServer: not started');
    const host = this.address.family === 'IPv6' ? `[${this.address.address}]` : this.address.address;
    return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${this.address.port}/`;
  }

  /** Starts listening; resolves to the page's URL. A port in use is an error naming it. */
  async start(): Promise<string> {
    const server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? new Error(`dashboard: port ${this.options.port ?? DEFAULT_DASHBOARD_PORT} is in use (pick another with --dashboard PORT, or 0 for any free port)`) : error));
      server.listen(this.options.port ?? DEFAULT_DASHBOARD_PORT, this.options.host ?? '127.0.0.1', () => resolve());
    });
    // NOTE: the server must never keep a finished training process alive.
    server.unref();
    this.server = server;
    this.address = server.address() as AddressInfo;
    return this.url;
  }

  /** Sends an event to every connected page. */
  broadcast(event: string, data: unknown): void {
    for (const client of this.clients) client.send(event, data);
  }

  /** Connected event streams. */
  get clientCount(): number { return this.clients.size; }

  /** Ends every event stream and stops listening. */
  async close(): Promise<void> {
    for (const client of this.clients) client.close();
    this.clients.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    try {
      const loopback = ['127.0.0.1', '::1', 'localhost'].includes(this.options.host ?? '127.0.0.1');
      if (loopback && !isLocalHost(req)) { send(res, 403, 'forbidden host\n'); return; }
      const rawPath = (req.url ?? '/').split('?')[0];
      if (req.method === 'POST' && rawPath.startsWith('/api/')) { this.action(req, res, rawPath.slice(5)); return; }
      if (req.method !== 'GET' && req.method !== 'HEAD') { send(res, 405, 'method not allowed\n', undefined, { Allow: 'GET, HEAD' }); return; }
      if (rawPath === '/' || rawPath === '/index.html') { this.page(res); return; }
      if (rawPath === '/api/events') { this.events(req, res); return; }
      const relative = safeRelativePath(rawPath);
      if (relative === null) { send(res, 400, 'bad path\n'); return; }
      const [head, ...rest] = relative.split(/[\\/]/);
      if (head === 'api' && rest.length === 1 && this.options.api && Object.hasOwn(this.options.api, rest[0])) { sendJson(res, this.options.api[rest[0]](req)); return; }
      if (head === 'static' && rest.length > 0 && serveFile(res, this.staticDir, rest.join('/'), { 'Content-Security-Policy': this.csp })) return;
      if (head === 'lib' && rest.length === 1 && rest[0] === 'vega-util.js') { send(res, 200, VEGA_UTIL_SUBSET, 'text/javascript; charset=utf-8'); return; }
      if (head === 'lib' && rest.length === 1 && Object.hasOwn(this.lib.files, rest[0])) { send(res, 200, readFileSync(this.lib.files[rest[0]]), 'text/javascript; charset=utf-8'); return; }
      if (head === 'lib' && rest.length > 1 && Object.hasOwn(this.lib.dirs, rest[0]) && serveFile(res, this.lib.dirs[rest[0]], rest.slice(1).join('/'))) return;
      send(res, 404, 'not found\n');
    } catch (error) {
      if (!res.headersSent) send(res, 500, `error: ${(error as Error).message}\n`);
    }
  }

  private page(res: ServerResponse): void {
    const html = readFileSync(join(this.staticDir, `${this.options.page}.html`), 'utf8').replace('<!--importmap-->', `<script type="importmap">${IMPORT_MAP}</script>`);
    send(res, 200, html, 'text/html; charset=utf-8', { 'Content-Security-Policy': this.csp });
  }

  private events(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === 'HEAD') { send(res, 200, '', 'text/event-stream'); return; }
    const client = new SseClient(res);
    this.clients.add(client);
    req.on('close', () => this.clients.delete(client));
    this.options.onClient?.(client);
  }

  private action(req: IncomingMessage, res: ServerResponse, name: string): void {
    const actions = this.options.actions ?? {};
    // NOTE: a custom header makes a cross-site form or fetch need a CORS preflight, which this server never grants.
    if (!Object.hasOwn(actions, name)) { send(res, 405, 'method not allowed\n', undefined, { Allow: 'GET, HEAD' }); return; }
    if (req.headers['x-kestrel-action'] !== name) { send(res, 403, `missing X-Kestrel-Action: ${name}\n`); return; }
    req.resume();
    sendJson(res, actions[name]() ?? { ok: true }, 202);
  }
}
