/** `kestrel import`: turn a pretrained weights file (or URL) into a Kestrel model bundle. */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { IMAGENET_MEAN, IMAGENET_STD, progressPrinter } from '../data/index.js';
import { resolveWeights, saveModel } from '../io/index.js';
import { type CommandSpec, UsageError, commandHelp, parseCommand } from './args.js';
import { importerFor, importers } from './importers.js';

/** The command's options. */
export const importSpec: CommandSpec = {
  name: 'import',
  summary: 'turn a pretrained weights file (.pth, .safetensors, TF.js model.json) or URL into a Kestrel model bundle',
  positionals: [{ name: 'file', description: `weights to import: ${importers.map((i) => i.files).join('; ')}; or an http(s) URL (downloaded into the cache, SHA-256 checked)` }],
  options: {
    out: { type: 'string', description: 'output directory for model.json + model.safetensors (required)' },
    arch: { type: 'string', description: 'architecture (default: detected from the weights, e.g. resnet50)' },
    classes: { type: 'string', description: 'class names, comma-separated, in output order' },
    'classes-file': { type: 'string', description: 'file with one class name per line' },
    normalize: { type: 'string', description: "input normalisation: imagenet, unit (none: pixels in 0..1), inception (mean 0.5, std 0.5), or MEAN,STD (one pair, or per-channel means then stds)", default: 'imagenet' },
    size: { type: 'integer', description: 'input image side in pixels (a TF.js model with a fixed input size keeps its own)', default: 224, min: 8 },
  },
};

/** Parses --normalize for `channels` input channels (null: none). */
export function parseNormalize(value: string, channels: number): { mean: number[]; std: number[] } | null {
  const same = (mean: number, std: number) => ({ mean: Array<number>(channels).fill(mean), std: Array<number>(channels).fill(std) });
  if (value === 'unit') return null;
  if (value === 'inception') return same(0.5, 0.5);
  if (value === 'imagenet') {
    if (channels !== 3) throw new UsageError(`--normalize imagenet needs 3 input channels, the model has ${channels}`);
    return { mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] };
  }
  const numbers = value.split(',').map((v) => Number(v.trim()));
  if (numbers.some((n) => !Number.isFinite(n)) || (numbers.length !== 2 && numbers.length !== 2 * channels)) {
    throw new UsageError(`--normalize must be imagenet, unit, inception, MEAN,STD or ${channels} means then ${channels} stds; got '${value}'`);
  }
  const stats = numbers.length === 2 ? same(numbers[0], numbers[1]) : { mean: numbers.slice(0, channels), std: numbers.slice(channels) };
  if (stats.std.some((s) => s <= 0)) throw new UsageError(`--normalize: standard deviations must be positive, got '${value}'`);
  return stats;
}

/** The class names from --classes or --classes-file (undefined when neither is given). */
export function readClassNames(classes: string | undefined, classesFile: string | undefined): string[] | undefined {
  if (classes !== undefined && classesFile !== undefined) throw new UsageError('give --classes or --classes-file, not both');
  let names: string[] | undefined;
  if (classes !== undefined) names = classes.split(',').map((c) => c.trim());
  if (classesFile !== undefined) {
    if (!existsSync(classesFile)) throw new UsageError(`--classes-file '${classesFile}' does not exist`);
    names = readFileSync(classesFile, 'utf8').split(/\r?\n/).map((c) => c.trim()).filter((c) => c !== '');
  }
  if (names === undefined) return undefined;
  const flag = classes !== undefined ? '--classes' : `--classes-file '${classesFile}'`;
  if (names.length === 0 || names.some((c) => c === '')) throw new UsageError(`${flag} has an empty class name`);
  const duplicate = names.find((c, i) => names!.indexOf(c) !== i);
  if (duplicate !== undefined) throw new UsageError(`${flag} names '${duplicate}' twice`);
  return names;
}

/** Imports; resolves to the exit code. Nothing is written unless everything checks out. */
export async function runImport(argv: string[]): Promise<number> {
  const { positionals, options } = parseCommand(importSpec, argv);
  if (options.help) { console.log(commandHelp(importSpec)); return 0; }
  if (options.out === undefined) throw new UsageError('kestrel import needs --out DIR');
  const out = resolve(String(options.out));
  const names = readClassNames(options.classes as string | undefined, options['classes-file'] as string | undefined);
  const size = options.size as number;
  const source = positionals[0];
  const path = /^https?:\/\//i.test(source) ? await resolveWeights(source, { onProgress: progressPrinter(source) }) : resolve(source);
  const importer = importerFor(path);
  const imported = await importer.load({ path, arch: options.arch as string | undefined, size, numClasses: names?.length });
  const { model, numClasses, inChannels } = imported;
  try {
    if (names !== undefined && names.length !== numClasses) {
      throw new Error(`${names.length} class names given but ${imported.head} has ${numClasses} rows; give exactly ${numClasses} names`);
    }
    // NOTE: torchvision files carry no class names; ImageNet's list has duplicate names
    // ('crane', 'maillot') that a bundle cannot hold, so unnamed heads get neutral names.
    const classes = names ?? Array.from({ length: numClasses }, (_, i) => `class_${i}`);
    const normalize = parseNormalize(String(options.normalize), inChannels);
    const inputShape = imported.inputShape ?? [inChannels, size, size];
    saveModel(out, model, { architecture: imported.architecture, classes, inputShape, normalize });
    console.log(`kestrel: imported ${imported.description}: ${imported.architecture.name}, ${numClasses} classes, ` +
      `${model.numParameters().toLocaleString('en-US')} parameters, input ${inputShape.join('x')}`);
    console.log(`model bundle in ${out}: model.json, model.safetensors`);
  } finally {
    model.dispose();
  }
  return 0;
}
