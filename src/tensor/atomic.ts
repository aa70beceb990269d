/** Crash-safe file writes: write a temporary file beside the target, fsync it, then rename. */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** Prefix of the temporary files written beside a target (`.NAME.tmp-PID-RANDOM`). */
export const TEMP_MARKER = '.tmp-';

/** The temporary path used while writing `path` (same directory, so rename stays atomic). */
export function temporaryPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}${TEMP_MARKER}${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Writes all of `bytes` at the current position of `fd` (writeSync may write fewer bytes than asked). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
}

/**
 * Writes a file atomically: `write(fd)` fills a temporary file in the same directory, which is
 * fsynced and renamed over `path`. On any failure the temporary file is removed and `path`
 * keeps its previous content (or stays absent); a crash can leave only a stray temporary file.
 */
export function writeFileAtomic(path: string, write: (fd: number) => void): void {
  const temporary = temporaryPathFor(path);
  // NOTE: 'wx' refuses to follow or reuse an existing file, so two writers never share a temp file.
  const fd = openSync(temporary, 'wx', 0o644);
  let closed = false;
  try {
    write(fd);
    fsyncSync(fd);
    closeSync(fd);
    closed = true;
    renameSync(temporary, path);
  } catch (error) {
    if (!closed) { try { closeSync(fd); } catch { /* already failing */ } }
    try { unlinkSync(temporary); } catch { /* never created or already renamed */ }
    throw new Error(`cannot write '${path}': ${(error as Error).message}`, { cause: error });
  }
  syncDirectory(dirname(path));
}

/** Writes a text file atomically (UTF-8). */
export function writeTextFileAtomic(path: string, text: string): void {
  writeFileAtomic(path, (fd) => writeAll(fd, Buffer.from(text, 'utf8')));
}

// NOTE: fsync of the directory makes the rename itself durable; some file systems refuse it,
// which only weakens durability (never atomicity), so failures are ignored.
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch { /* not supported here */ } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
