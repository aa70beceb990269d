/** Downloads registered datasets into the cache on demand, verifies them and extracts archives. */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeTextFileAtomic } from '../tensor/atomic.js';
import { datasetDir } from './cache.js';
import { DownloadError, download, expectedDigests, findDigestMismatch } from './download.js';
import type { DownloadProgress } from './progress.js';
import { type DatasetEntry, type DatasetFile, getDataset } from './registry.js';
import { extractTar } from './tar.js';

/** Options of {@link ensureDataset}. */
export interface EnsureDatasetOptions {
  /** Cache root instead of kestrelHome() (the dataset goes to `<root>/datasets/<name>`). */
  root?: string;
  /** Progress of each file being downloaded. */
  onProgress?: (progress: DownloadProgress, file: DatasetFile) => void;
  /** Notes such as "trying the next mirror" (default: none). */
  log?: (line: string) => void;
  /** Aborts the downloads (partial files are kept for a resume). */
  signal?: AbortSignal;
  /** Per-request idle timeout in ms (default 30000). */
  timeoutMs?: number;
}

/** The state of one file after {@link verifyDataset}. */
export interface VerifyResult {
  file: string;
  path: string;
  status: 'ok' | 'missing' | 'mismatch';
  /** For 'mismatch': which checksum failed and the two values. */
  algorithm?: string;
  expected?: string;
  actual?: string;
}

// NOTE: re-hashing 170 MB on every ensureDataset call would cost a second; a stamp of size and
// mtime per verified file makes repeat calls cheap. verifyDataset always re-hashes.
const STAMP = '.kestrel-verified.json';
const EXTRACTED = '.kestrel-extracted.json';

type Stamp = Record<string, { size: number; mtimeMs: number; digest: string }>;

function readJson(path: string): Stamp {
  try { return JSON.parse(readFileSync(path, 'utf8')) as Stamp; } catch { return {}; }
}

function digestKey(file: DatasetFile): string {
  return `${file.sha256 ?? ''}/${file.md5 ?? ''}`.toLowerCase();
}

function stampMatches(stamp: Stamp, file: DatasetFile, path: string): boolean {
  const entry = stamp[file.name];
  if (!entry || !existsSync(path)) return false;
  const stat = statSync(path);
  return entry.size === stat.size && entry.mtimeMs === stat.mtimeMs && entry.digest === digestKey(file);
}

function stampOf(file: DatasetFile, path: string): Stamp[string] {
  const stat = statSync(path);
  return { size: stat.size, mtimeMs: stat.mtimeMs, digest: digestKey(file) };
}

async function fetchFile(entry: DatasetEntry, file: DatasetFile, dest: string, options: EnsureDatasetOptions): Promise<void> {
  const failures: string[] = [];
  for (const url of file.urls) {
    try {
      await download(url, {
        dest, sha256: file.sha256, md5: file.md5, signal: options.signal, timeoutMs: options.timeoutMs,
        onProgress: options.onProgress ? (p) => options.onProgress!(p, file) : undefined,
      });
      return;
    } catch (error) {
      if (error instanceof DownloadError && (error.kind === 'aborted' || error.kind === 'busy')) throw error;
      failures.push((error as Error).message);
      if (url !== file.urls[file.urls.length - 1]) options.log?.(`${(error as Error).message}; trying the next mirror`);
    }
  }
  throw new Error(`cannot download '${file.name}' of dataset '${entry.name}' from any of its ${file.urls.length} URL(s):\n${failures.map((f) => `  - ${f}`).join('\n')}`);
}

async function extractInto(dir: string, archive: string): Promise<void> {
  // NOTE: extract into a scratch folder first, so a failed extraction never mixes with good files.
  const scratch = join(dir, `.extract-${process.pid}-${Date.now()}`);
  try {
    await extractTar(archive, scratch);
    for (const name of readdirSync(scratch)) {
      rmSync(join(dir, name), { recursive: true, force: true });
      renameSync(join(scratch, name), join(dir, name));
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Makes dataset `name` available locally: downloads missing files (trying mirrors in order),
 * verifies checksums, extracts archives once, and resolves to the folder holding the data.
 */
export async function ensureDataset(name: string, options: EnsureDatasetOptions = {}): Promise<string> {
  const entry = getDataset(name);
  const dir = datasetDir(entry.name, options.root);
  mkdirSync(dir, { recursive: true });
  const stamp = readJson(join(dir, STAMP));
  const extracted = readJson(join(dir, EXTRACTED));
  for (const file of entry.files) {
    const path = join(dir, file.name);
    if (!stampMatches(stamp, file, path)) {
      await fetchFile(entry, file, path, options);
      stamp[file.name] = stampOf(file, path);
      writeTextFileAtomic(join(dir, STAMP), JSON.stringify(stamp, null, 1));
    }
    if (file.extract === 'tar' && !stampMatches(extracted, file, path)) {
      await extractInto(dir, path);
      extracted[file.name] = stampOf(file, path);
      writeTextFileAtomic(join(dir, EXTRACTED), JSON.stringify(extracted, null, 1));
    }
  }
  const data = entry.dataDir ? join(dir, entry.dataDir) : dir;
  if (!existsSync(data)) throw new Error(`dataset '${name}': the archive did not contain '${entry.dataDir}' (looked in ${dir})`);
  return data;
}

/** Re-hashes every cached file of dataset `name` against the registry (downloads nothing). */
export async function verifyDataset(name: string, options: { root?: string } = {}): Promise<VerifyResult[]> {
  const entry = getDataset(name);
  const dir = datasetDir(entry.name, options.root);
  const stamp = readJson(join(dir, STAMP));
  const results: VerifyResult[] = [];
  for (const file of entry.files) {
    const path = join(dir, file.name);
    if (!existsSync(path)) { results.push({ file: file.name, path, status: 'missing' }); continue; }
    const mismatch = await findDigestMismatch(path, expectedDigests(file, `dataset '${name}' file '${file.name}'`));
    if (mismatch) {
      delete stamp[file.name];
      results.push({ file: file.name, path, status: 'mismatch', ...mismatch });
    } else {
      stamp[file.name] = stampOf(file, path);
      results.push({ file: file.name, path, status: 'ok' });
    }
  }
  if (existsSync(dir)) writeTextFileAtomic(join(dir, STAMP), JSON.stringify(stamp, null, 1));
  return results;
}

/** Cache state of a dataset without hashing: 'complete' (all files present), 'partial', or 'absent'. */
export function datasetCacheState(name: string, options: { root?: string } = {}): 'complete' | 'partial' | 'absent' {
  const entry = getDataset(name);
  const dir = datasetDir(entry.name, options.root);
  const present = entry.files.filter((f) => existsSync(join(dir, f.name))).length;
  const partial = entry.files.some((f) => existsSync(join(dir, `${f.name}.partial`)));
  return present === entry.files.length ? 'complete' : present > 0 || partial ? 'partial' : 'absent';
}
