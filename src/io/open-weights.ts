/** Weights by path or URL: downloading into the model cache (checked), and opening by file type. */
import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type DownloadProgress, download, kestrelHome } from '../data/index.js';
import type { Module } from '../nn/index.js';
import { openTorchFile, type TorchFileOptions } from './torch-file.js';
import { readMagic } from './torch-layout.js';
import { type LoadReport, type LoadWeightsOptions, loadWeightsFrom } from './load-weights.js';
import { type WeightSource, openSafetensorsWeights } from './weight-source.js';

/** Options of {@link resolveWeights}. */
export interface ResolveWeightsOptions {
  /** Full SHA-256 of the file, for URLs whose names carry no hash. */
  sha256?: string;
  /** Download folder (default `$KESTREL_HOME/models`). */
  dir?: string;
  /** Called as bytes arrive (see progressPrinter). */
  onProgress?: (progress: DownloadProgress) => void;
  /** Fails when the server sends nothing for this long (default 30000 ms). */
  timeoutMs?: number;
}

/** The SHA-256 prefix in a torchvision-style file name (`resnet34-b627a593.pth`), or undefined. */
export function hashPrefixOf(fileName: string): string | undefined {
  return /-([0-9a-f]{8,64})\.[A-Za-z0-9]+$/.exec(fileName)?.[1];
}

/**
 * A local path for weights given as a path or an http(s) URL. URLs are downloaded once into
 * `$KESTREL_HOME/models/` (resumable, atomic) and verified against the SHA-256 prefix in
 * torchvision-style names or `options.sha256`; a mismatch is refused and the file removed.
 * A cached file with the right hash is reused without touching the network.
 */
export async function resolveWeights(pathOrUrl: string, options: ResolveWeightsOptions = {}): Promise<string> {
  if (!/^https?:\/\//i.test(pathOrUrl)) {
    if (!existsSync(pathOrUrl)) throw new Error(`weights file '${pathOrUrl}' does not exist`);
    if (!statSync(pathOrUrl).isFile()) throw new Error(`weights '${pathOrUrl}' is not a file`);
    return pathOrUrl;
  }
  let url: URL;
  try {
    url = new URL(pathOrUrl);
  } catch {
    throw new Error(`'${pathOrUrl}' is not a valid URL`);
  }
  const name = decodeURIComponent(url.pathname.split('/').pop() ?? '');
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name)) throw new Error(`cannot download weights from ${pathOrUrl}: its file name '${name}' is not a plain file name`);
  const prefix = hashPrefixOf(name);
  if (options.sha256 === undefined && prefix === undefined) {
    throw new Error(`cannot verify ${pathOrUrl}: its file name carries no SHA-256 prefix (torchvision's name-<hex>.pth); pass the file's sha256`);
  }
  const dest = join(options.dir ?? join(kestrelHome(), 'models'), name);
  return download(pathOrUrl, {
    dest,
    ...(options.sha256 !== undefined ? { sha256: options.sha256 } : { sha256Prefix: prefix }),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
}

/** Whether a file starts like safetensors: an 8-byte little-endian header length, then '{'. */
function looksLikeSafetensors(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = readMagic(fd, 9);
    return head.byteLength === 9 && head[8] === 0x7b && head[6] === 0 && head[7] === 0;
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens a weights file by its type: safetensors (by extension or header) or a torch.save file
 * (`.pth`, `.pt`, `.bin`, zip or legacy). Close the source when done.
 */
export async function openWeights(path: string, options: TorchFileOptions = {}): Promise<WeightSource> {
  if (!existsSync(path)) throw new Error(`weights file '${path}' does not exist`);
  if (path.endsWith('.safetensors') || looksLikeSafetensors(path)) return openSafetensorsWeights(path);
  return openTorchFile(path, options);
}

/**
 * Loads weights from a path or URL into `model` (see {@link loadWeightsFrom} for strict and
 * lenient loading, {@link resolveWeights} for URLs) and returns the report.
 */
export async function loadPretrained(model: Module, pathOrUrl: string, options: LoadWeightsOptions & ResolveWeightsOptions = {}): Promise<LoadReport> {
  const source = await openWeights(await resolveWeights(pathOrUrl, options));
  try {
    return loadWeightsFrom(model, source, options);
  } finally {
    source.close();
  }
}
