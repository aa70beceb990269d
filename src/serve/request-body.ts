/** Reading images out of a /predict request: the raw body (one image) or multipart/form-data (one per file part), with limits. */
import type { IncomingMessage } from 'node:http';
import { Busboy, type BusboyFileStream, type BusboyInstance } from '@fastify/busboy';
import type { FailedImage } from '../data/index.js';

/** An error answered with an HTTP status and a JSON body `{ error }`. */
export class HttpError extends Error {
  override name = 'HttpError';

  /** `kind` labels the error in metrics; `failed` lists unreadable images. */
  constructor(readonly status: number, readonly kind: string, message: string, readonly failed?: FailedImage[]) {
    super(message);
  }
}

/** Limits on a request body. */
export interface BodyLimits {
  maxBodyBytes: number;
  maxImages: number;
  /** Aborts reading (timeout, client gone). */
  signal?: AbortSignal;
}

function tooBig(limit: number): HttpError {
  return new HttpError(413, 'too_large', `request body over the limit of ${limit} bytes`);
}

/** Images in the request, with a name each (the part's file name, or `image #i`). */
export async function readImages(req: IncomingMessage, limits: BodyLimits): Promise<{ images: Uint8Array[]; names: string[] }> {
  const length = Number(req.headers['content-length']);
  if (Number.isFinite(length) && length > limits.maxBodyBytes) throw tooBig(limits.maxBodyBytes);
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  const result = type.startsWith('multipart/form-data') ? await readMultipart(req, limits) : { images: [await readRaw(req, limits)], names: ['image #1'] };
  if (result.images.length === 0) throw new HttpError(400, 'bad_request', 'no image in the request: send the image bytes as the body, or multipart/form-data with file parts');
  if (result.images.some((i) => i.length === 0)) throw new HttpError(400, 'bad_image', `${result.names[result.images.findIndex((i) => i.length === 0)]}: empty image (0 bytes)`);
  return result;
}

function abortable<T>(signal: AbortSignal | undefined, body: (resolve: (v: T) => void, reject: (e: unknown) => void) => () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) { reject(signal.reason); return; }
    let cleanup = () => {};
    const onAbort = () => { cleanup(); reject(signal!.reason); };
    signal?.addEventListener('abort', onAbort, { once: true });
    cleanup = body(
      (v) => { signal?.removeEventListener('abort', onAbort); resolve(v); },
      (e) => { signal?.removeEventListener('abort', onAbort); cleanup(); reject(e); },
    );
  });
}

function readRaw(req: IncomingMessage, limits: BodyLimits): Promise<Uint8Array> {
  return abortable(limits.signal, (resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBodyBytes) { reject(tooBig(limits.maxBodyBytes)); return; }
      chunks.push(chunk);
    };
    const onEnd = () => resolve(Buffer.concat(chunks, size));
    const onError = (error: Error) => reject(new HttpError(400, 'bad_request', `request body could not be read: ${error.message}`));
    req.on('data', onData).on('end', onEnd).on('error', onError);
    return () => { req.off('data', onData).off('end', onEnd).off('error', onError); req.pause(); };
  });
}

function readMultipart(req: IncomingMessage, limits: BodyLimits): Promise<{ images: Uint8Array[]; names: string[] }> {
  return abortable(limits.signal, (resolve, reject) => {
    const images: Buffer[] = [];
    const names: string[] = [];
    let total = 0;
    let parser: BusboyInstance;
    try {
      parser = new Busboy({ headers: req.headers as Record<string, string> & { 'content-type': string }, limits: { files: limits.maxImages, fileSize: limits.maxBodyBytes, fields: 16, parts: limits.maxImages + 16 } });
    } catch (error) {
      reject(new HttpError(400, 'bad_request', `malformed multipart request: ${(error as Error).message}`));
      return () => {};
    }
    parser.on('file', (_field: string, stream: BusboyFileStream, filename: string | undefined) => {
      const chunks: Buffer[] = [];
      const index = images.length;
      images.push(Buffer.alloc(0));
      names.push(filename ? String(filename).slice(0, 256) : `image #${index + 1}`);
      stream.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > limits.maxBodyBytes) { reject(tooBig(limits.maxBodyBytes)); stream.resume(); return; }
        chunks.push(chunk);
      });
      stream.on('limit', () => reject(tooBig(limits.maxBodyBytes)));
      stream.on('end', () => { images[index] = Buffer.concat(chunks); });
    });
    parser.on('filesLimit', () => reject(new HttpError(413, 'too_many_images', `more than ${limits.maxImages} images in one request`)));
    parser.on('partsLimit', () => reject(new HttpError(413, 'too_many_images', `more than ${limits.maxImages} images in one request`)));
    parser.on('error', (error: Error) => reject(new HttpError(400, 'bad_request', `malformed multipart request: ${error.message}`)));
    parser.on('finish', () => resolve({ images, names }));
    req.on('error', (error) => reject(new HttpError(400, 'bad_request', `request body could not be read: ${error.message}`)));
    req.pipe(parser);
    return () => { req.unpipe(parser); req.pause(); };
  });
}
