/** Finding image files in folders and validating them quickly (header checks, many files in flight). */
import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { type BadImage, BadImageError, describeImageError } from './bad-image.js';
import { IMAGE_EXTENSIONS, probeImage } from './decode.js';

/** True when a path has an image extension (case-insensitive). */
export function isImagePath(path: string): boolean {
  return IMAGE_EXTENSIONS.includes(extname(path).toLowerCase());
}

/**
 * Image paths under `dir`, sorted. Recurses into sub-folders; a directory or dangling link with an image
 * extension is listed too (it is reported as bad by validation, never silently dropped).
 */
export async function listImageFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (current: string) => {
    const entries = await readdir(current, { withFileTypes: true });
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (isImagePath(entry.name)) out.push(path);
      else if (entry.isDirectory()) await walk(path);
    }
  };
  try {
    await walk(dir);
  } catch (error) {
    throw new Error(`cannot read folder ${dir}: ${describeImageError(error)}`);
  }
  return out.sort();
}

/** Sub-folders of `dir` (names, sorted); empty when `dir` is missing. */
export async function subfolders(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && !isImagePath(e.name) && !e.name.startsWith('.')).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/** Header-checks every file (bounded concurrency); returns the bad ones with reasons, in input order. */
export async function validateImages(files: string[], maxPixels: number, concurrency = 16): Promise<BadImage[]> {
  const reasons = new Array<string | undefined>(files.length);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const i = next++;
      try {
        await probeImage(files[i], maxPixels);
      } catch (error) {
        reasons[i] = error instanceof BadImageError ? error.reason : describeImageError(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  const bad: BadImage[] = [];
  reasons.forEach((reason, i) => { if (reason !== undefined) bad.push({ file: files[i], reason }); });
  return bad;
}

/** True when `dir` holds at least one image file (sub-folders included), i.e. it is an image-folder dataset. */
export async function hasImageFiles(dir: string): Promise<boolean> {
  try {
    return (await listImageFiles(dir)).length > 0;
  } catch {
    return false;
  }
}
