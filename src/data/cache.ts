/** Where Kestrel keeps downloaded files: `$KESTREL_HOME`, else `$XDG_CACHE_HOME/kestrel`, else `~/.cache/kestrel`. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/** The checksum algorithms Kestrel verifies downloads with. */
export type HashAlgorithm = 'sha256' | 'md5';

/** Kestrel's cache root, from the environment (`KESTREL_HOME` overrides everything). */
export function kestrelHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KESTREL_HOME) return resolve(env.KESTREL_HOME);
  // NOTE: the XDG base-directory spec says relative paths in XDG_* are invalid and must be ignored.
  if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)) return join(env.XDG_CACHE_HOME, 'kestrel');
  return join(homedir(), '.cache', 'kestrel');
}

/** Checks a dataset name is a plain folder name (no separators, no dot-dot). */
export function checkDatasetName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new Error(`invalid dataset name '${name}': use letters, digits, '.', '_' and '-' only`);
  }
  return name;
}

/** The cache folder of one dataset: `<root>/datasets/<name>` (root defaults to {@link kestrelHome}). */
export function datasetDir(name: string, root: string = kestrelHome()): string {
  return join(root, 'datasets', checkDatasetName(name));
}

/** The hex digest of a whole file (streamed, so any size works). */
export async function hashFile(path: string, algorithm: HashAlgorithm): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
