/**
 * Extracting (gzipped) tar archives with the `tar` package (ustar, GNU long names, pax). Regular files
 * and folders are extracted; links and devices are skipped; an archive with a path that would leave the
 * destination is refused before anything is written.
 */
import { mkdir } from 'node:fs/promises';
import { isAbsolute, normalize, sep } from 'node:path';
import { extract, list, type ReadEntry } from 'tar';

/** One entry extracted from an archive. */
export interface TarEntry {
  /** Path inside the archive (forward slashes). */
  path: string;
  /** Size in bytes (0 for folders). */
  size: number;
  type: 'file' | 'directory';
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

function leavesDestination(name: string): boolean {
  const cleaned = normalize(name.replace(/\\/g, '/'));
  return isAbsolute(cleaned) || /^[A-Za-z]:/.test(cleaned) || cleaned.split(sep).includes('..');
}

function kind(entry: ReadEntry): TarEntry['type'] | null {
  if (FILE_TYPES.has(entry.type)) return 'file';
  return entry.type === 'Directory' ? 'directory' : null;
}

function describe(error: unknown, archive: string): Error {
  const message = (error as Error).message ?? String(error);
  const entry = (error as { entry?: ReadEntry }).entry;
  if (/Truncated input/.test(message)) {
    const what = entry ? `'${entry.path}' (${entry.size} bytes) is cut short` : 'the archive ends inside a header';
    return new Error(`truncated tar archive '${archive}': ${what}`, { cause: error });
  }
  return new Error(`cannot extract '${archive}': ${message}`, { cause: error });
}

/**
 * Extracts a `.tar` or `.tar.gz`/`.tgz` archive (compression detected from its bytes) into `dest` and
 * lists what it wrote. Errors name the archive: truncated or corrupt data, or a path outside `dest`.
 */
export async function extractTar(archive: string, dest: string): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  let refused: string | undefined;
  try {
    // NOTE: a first pass reads every header, so a hostile or broken archive is refused before any file
    // is written (the tar package would skip a '..' entry with a warning and extract the rest).
    await list({
      file: archive, strict: true,
      onReadEntry: (entry) => {
        if (leavesDestination(entry.path)) refused ??= entry.path;
        const type = kind(entry);
        if (type) entries.push({ path: entry.path, size: type === 'file' ? entry.size : 0, type });
      },
    });
  } catch (error) {
    throw describe(error, archive);
  }
  if (refused !== undefined) throw new Error(`refusing to extract '${refused}' from '${archive}': the path leaves the destination folder`);
  try {
    await mkdir(dest, { recursive: true });
    // NOTE: links, devices and fifos are not needed for datasets and could point outside dest: skipped.
    await extract({
      file: archive, cwd: dest, strict: true, preserveOwner: false,
      filter: (_path, entry) => 'type' in entry && kind(entry as ReadEntry) !== null,
    });
  } catch (error) {
    throw describe(error, archive);
  }
  return entries;
}
