/**
 * The inference server: node:http with POST /predict (raw image bytes or multipart, one or many images),
 * GET /healthz and GET /metrics; body, image-count, pixel and time limits; JSON errors; graceful shutdown.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AbortedError, QueueFullError } from './batcher.js';
import { ServerMetrics } from './metrics.js';
import { HttpError, readImages } from './request-body.js';
import type { ServedModel } from './served-model.js';

/** Options of an InferenceServer. */
export interface ServeOptions {
  /** Address to bind (default 127.0.0.1: loopback only). */
  host?: string;
  /** Port (default 8080; 0 picks a free one). */
  port?: number;
  /** Largest request body in bytes (default 20 MB). */
  maxBodyBytes?: number;
  /** Most images in one request (default 64). */
  maxImages?: number;
  /** Time a request may take to arrive and be answered, in ms (default 30 s); slower ones get 408. */
  requestTimeoutMs?: number;
  /** Classes listed per image (default 5). */
  topK?: number;
  /** Metrics registry (default: a new one with process metrics). */
  metrics?: ServerMetrics;
  /** Where request errors and lifecycle messages go (default console.error). */
  log?: (message: string) => void;
}

/** Serves a ServedModel over HTTP. */
export class InferenceServer {
  readonly metrics: ServerMetrics;
  private readonly server: Server;
  private readonly options: Required<Omit<ServeOptions, 'metrics' | 'log'>>;
  private readonly log: (message: string) => void;
  private inFlight = 0;
  private closing: Promise<void> | null = null;
  private idleWaiters: (() => void)[] = [];

  /** A server for `model` (call listen() to start). */
  constructor(readonly model: ServedModel, options: ServeOptions = {}) {
    this.options = {
      host: options.host ?? '127.0.0.1', port: options.port ?? 8080, maxBodyBytes: options.maxBodyBytes ?? 20 * 2 ** 20,
      maxImages: options.maxImages ?? 64, requestTimeoutMs: options.requestTimeoutMs ?? 30_000, topK: options.topK ?? 5,
    };
    this.metrics = options.metrics ?? new ServerMetrics();
    this.log = options.log ?? ((m) => console.error(m));
    model.observeBatch = (requests, images) => this.metrics.observeBatch(requests, images);
    this.server = createServer((req, res) => void this.handle(req, res));
    // NOTE: Node's own limits as a backstop behind ours (ours answer with JSON first).
    this.server.requestTimeout = this.options.requestTimeoutMs + 5_000;
    this.server.headersTimeout = Math.min(this.options.requestTimeoutMs, 60_000);
    this.server.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"error":"malformed HTTP request"}');
      else socket.destroy();
    });
  }

  /** Starts listening; resolves with the bound address and port. */
  listen(): Promise<{ host: string; port: number; url: string }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        const { address, port } = this.server.address() as AddressInfo;
        const host = address.includes(':') ? `[${address}]` : address;
        resolve({ host: address, port, url: `http://${host}:${port}` });
      });
    });
  }

  /** The bound address (after listen()). */
  address(): AddressInfo | null {
    return this.server.address() as AddressInfo | null;
  }

  /**
   * Graceful shutdown: stops accepting connections, answers every request already received (with
   * `Connection: close`), waits for running batches, then closes idle connections.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeIdleConnections();
      if (this.inFlight > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      await this.model.drain();
      this.server.closeIdleConnections();
      await closed;
    })();
    return this.closing;
  }

  private send(res: ServerResponse, route: string, status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.metrics.requests.inc({ route, code: String(status) });
    if (res.headersSent || res.destroyed) return;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': typeof body === 'string' ? this.metrics.contentType : 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text), 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store',
      ...(this.closing ? { Connection: 'close' } : {}), ...headers,
    });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inFlight++;
    this.metrics.inFlight.inc();
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (path === '/predict') await this.predict(req, res);
      else if (path === '/healthz') this.health(req, res);
      else if (path === '/metrics') await this.exposeMetrics(req, res);
      else {
        req.resume();
        this.send(res, 'other', 404, { error: `no route ${path.slice(0, 200)}: use POST /predict, GET /healthz or GET /metrics` });
      }
    } catch (error) {
      this.metrics.errors.inc({ kind: 'internal' });
      this.log(`kestrel serve: internal error on ${req.method} ${path.slice(0, 200)}: ${(error as Error).message}`);
      this.send(res, 'other', 500, { error: 'internal error' });
    } finally {
      this.inFlight--;
      this.metrics.inFlight.dec();
      if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private methodNotAllowed(req: IncomingMessage, res: ServerResponse, route: string, allow: string): void {
    req.resume();
    this.send(res, route, 405, { error: `${req.method} is not allowed on ${route}; use ${allow}` }, { Allow: allow });
  }

  private health(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.methodNotAllowed(req, res, '/healthz', 'GET, HEAD');
    req.resume();
    if (this.closing) return this.send(res, '/healthz', 503, { status: 'shutting down' });
    this.send(res, '/healthz', 200, { status: 'ok', classes: this.model.classes.length, queued: this.model.queued });
  }

  private async exposeMetrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.methodNotAllowed(req, res, '/metrics', 'GET, HEAD');
    req.resume();
    this.send(res, '/metrics', 200, await this.metrics.text());
  }

  private async predict(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') return this.methodNotAllowed(req, res, '/predict', 'POST');
    const stopTimer = this.metrics.latency.startTimer();
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new HttpError(408, 'timeout', `request took longer than ${this.options.requestTimeoutMs} ms`)), this.options.requestTimeoutMs);
    res.on('close', () => { if (!res.writableFinished) abort.abort(new AbortedError('client went away')); });
    try {
      const topK = topKFrom(req.url ?? '', this.options.topK, this.model.classes.length);
      const { images, names } = await readImages(req, { maxBodyBytes: this.options.maxBodyBytes, maxImages: this.options.maxImages, signal: abort.signal });
      const { predictions, failed } = await this.model.predict(images, { topK, signal: abort.signal, names });
      if (predictions.length === 0) {
        const tooLarge = failed.every((f) => /too large/.test(f.reason));
        throw new HttpError(tooLarge ? 413 : 400, tooLarge ? 'too_large' : 'bad_image', failed.length === 1 ? `${failed[0].file}: ${failed[0].reason}` : 'no image could be read', failed);
      }
      this.metrics.images.inc(predictions.length);
      if (failed.length > 0) this.metrics.errors.inc({ kind: 'bad_image' }, failed.length);
      this.send(res, '/predict', 200, {
        predictions: predictions.map((p) => ({ file: p.input, label: p.label, probability: p.probability, top: p.top })),
        ...(failed.length > 0 ? { failed: failed.map((f) => ({ file: f.file, error: f.reason })) } : {}),
      });
    } catch (error) {
      const reason = abort.signal.aborted ? abort.signal.reason : error;
      const http = reason instanceof HttpError ? reason
        : reason instanceof QueueFullError ? new HttpError(503, 'busy', reason.message)
          : reason instanceof AbortedError ? new HttpError(499, 'client_gone', reason.message) : null;
      if (!http) throw error;
      this.metrics.errors.inc({ kind: http.kind });
      if (!req.complete) res.setHeader('Connection', 'close');
      this.send(res, '/predict', http.status, { error: http.message, ...(http.failed ? { failed: http.failed.map((f) => ({ file: f.file, error: f.reason })) } : {}) },
        http.status === 503 ? { 'Retry-After': '1' } : {});
      // NOTE: a request whose body was refused part-way is not read to the end; the connection is dropped after the answer.
      if (!req.complete) res.once('finish', () => req.socket.destroy());
    } finally {
      clearTimeout(timer);
      stopTimer();
    }
  }
}

function topKFrom(url: string, fallback: number, classes: number): number {
  const raw = new URL(url, 'http://localhost').searchParams.get('top_k');
  if (raw === null) return Math.min(fallback, classes);
  const k = Number(raw);
  if (!Number.isInteger(k) || k < 1) throw new HttpError(400, 'bad_request', `top_k must be a positive integer, got '${raw.slice(0, 20)}'`);
  return Math.min(k, classes);
}
