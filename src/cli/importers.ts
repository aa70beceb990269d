/** The file types `kestrel import` reads, as a table: one importer per format (add an entry for a new one). */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { Module } from '../nn/index.js';
import { type WeightSource, buildFromWeights, openSafetensorsWeights, openTorchFile } from '../io/index.js';
import { tfjsImporter } from './import-tfjs.js';

/** What the user asked of an import. */
export interface ImportRequest {
  /** The file (already downloaded when given as a URL). */
  path: string;
  /** Architecture name from --arch (default: detected). */
  arch?: string;
  /** Image side from --size. */
  size: number;
  /** Number of classes given with --classes, used when the file's head is not recognised. */
  numClasses?: number;
}

/** A model an importer built, weights loaded. */
export interface ImportedModel {
  /** The model (the caller disposes it). */
  model: Module;
  /** What model.json stores to rebuild it. */
  architecture: { name: string; options: Record<string, unknown> };
  /** Rows of the classifier head. */
  numClasses: number;
  /** Input channels. */
  inChannels: number;
  /** The input [channels, height, width] when the model fixes it (TF.js models); else [inChannels, size, size]. */
  inputShape?: [number, number, number];
  /** Where the class count comes from, for messages (e.g. "the head of PyTorch file 'x' (fc.weight)"). */
  head: string;
  /** One line on what was imported, e.g. "PyTorch file 'x.pth' (torchvision resnet18)". */
  description: string;
}

/** One importable format. */
export interface Importer {
  /** Format name for messages ('PyTorch', 'safetensors'). */
  name: string;
  /** The file names it takes, for help and errors ('.pth, .pt'). */
  files: string;
  /** Whether it reads this file (by name, or by its first bytes). */
  matches(path: string, head: Uint8Array): boolean;
  /** Builds the model and loads the weights (strictly). */
  load(request: ImportRequest): Promise<ImportedModel>;
}

async function fromSource(source: WeightSource, request: ImportRequest): Promise<ImportedModel> {
  try {
    const built = buildFromWeights(source, { arch: request.arch, size: request.size, numClasses: request.numClasses });
    const head = built.detected ? `the head of ${source.label} (${built.detected.head})` : `the model built for ${source.label}`;
    const what = built.detected?.description ?? built.architecture.name;
    return { ...built, head, description: `${source.label} (${what})` };
  } finally {
    source.close();
  }
}

/** PyTorch torch.save state dicts (zip or legacy format), read without executing anything. */
export const torchImporter: Importer = {
  name: 'PyTorch',
  files: '.pth, .pt, .bin, .ckpt (torch.save)',
  matches: (path, head) => /\.(pth|pt|bin|ckpt|tar)$/i.test(path) || (head[0] === 0x50 && head[1] === 0x4b) || head[0] === 0x80,
  load: async (request) => fromSource(await openTorchFile(request.path), request),
};

/** safetensors state dicts with torchvision's names. */
export const safetensorsImporter: Importer = {
  name: 'safetensors',
  files: '.safetensors',
  matches: (path) => /\.safetensors$/i.test(path),
  load: async (request) => fromSource(openSafetensorsWeights(request.path), request),
};

/** The importers tried in order; the first that matches a file reads it. */
export const importers: Importer[] = [tfjsImporter, safetensorsImporter, torchImporter];

/** The importer for a file, or an error listing the formats Kestrel reads. */
export function importerFor(path: string): Importer {
  const head = new Uint8Array(8);
  try {
    // NOTE: a directory (e.g. a TF.js model folder) has no first bytes; importers judge it by name.
    if (statSync(path).isFile()) {
      const fd = openSync(path, 'r');
      try { readSync(fd, head, 0, head.byteLength, 0); } finally { closeSync(fd); }
    }
  } catch (error) {
    throw new Error(`cannot read '${path}': ${(error as Error).message}`, { cause: error });
  }
  const found = importers.find((i) => i.matches(path, head));
  if (found === undefined) throw new Error(`cannot import '${path}': unknown file type (Kestrel imports ${importers.map((i) => `${i.name} ${i.files}`).join('; ')})`);
  return found;
}
