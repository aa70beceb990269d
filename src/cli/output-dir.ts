/** The folder a command writes its results to: checked before any work, so a bad --out fails fast and writes nothing. */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from './args.js';

/** Checks that `path` is, or can become, a folder (no file in the way); returns it absolute. Creates nothing. */
export function checkOutputDir(path: string, flag = '--out'): string {
  const dir = resolve(path);
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(at)) {
      if (!statSync(at).isDirectory()) {
        throw new UsageError(at === dir
          ? `${flag} ${path}: a file with that name exists; give a folder for the results`
          : `${flag} ${path}: ${at} is a file, so the folder cannot be made there`);
      }
      return dir;
    }
    if (dirname(at) === at) return dir;
  }
}

/** {@link checkOutputDir}, then creates the folder. */
export function makeOutputDir(path: string, flag = '--out'): string {
  const dir = checkOutputDir(path, flag);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new UsageError(`${flag} ${path}: cannot create the folder (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return dir;
}
