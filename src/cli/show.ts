/** `kestrel show`: writes a PNG grid of a dataset's images with their labels. */
import { resolve } from 'node:path';
import { DataLoader } from '../data/loader.js';
import { ImageLoader, augmentTransforms, hasImageFiles, imageFolders, showBatch } from '../data/image/index.js';
import { type CommandSpec, UsageError, commandHelp, parseCommand } from './args.js';
import { resolveDataset } from './dataset-arg.js';

/** The command's options. */
export const showSpec: CommandSpec = {
  name: 'show',
  summary: 'write a PNG grid of a dataset\'s images with their labels',
  positionals: [{ name: 'dataset', description: "an image folder (train/valid/<class> or <class> sub-folders), 'sample', 'fashion-mnist', 'mnist', 'cifar10', 'cifar100' or an IDX directory" }],
  options: {
    out: { type: 'string', description: 'output PNG', default: 'grid.png' },
    n: { type: 'integer', description: 'images shown', default: 36, min: 1 },
    cols: { type: 'integer', description: 'columns', default: 6, min: 1 },
    split: { type: 'string', description: 'which split', default: 'train', choices: ['train', 'valid', 'test'] },
    size: { type: 'integer', description: 'image side for image folders', default: 160, min: 8 },
    augment: { type: 'boolean', description: 'show training augmentation (image folders)' },
    'no-flip': { type: 'boolean', description: 'with --augment: no horizontal flips (digits, text)' },
    seed: { type: 'integer', description: 'which images (seeded shuffle)', default: 0, min: 0 },
    'valid-pct': { type: 'number', description: 'validation fraction of a single-folder layout', default: 0.2, min: 0 },
  },
};

/** Writes the grid; resolves to the exit code. */
export async function runShow(argv: string[]): Promise<number> {
  const { positionals, options } = parseCommand(showSpec, argv);
  if (options.help) { console.log(commandHelp(showSpec)); return 0; }
  const name = positionals[0];
  const out = resolve(String(options.out));
  const n = options.n as number; const cols = options.cols as number; const seed = options.seed as number;
  const split = String(options.split) as 'train' | 'valid' | 'test';
  if (await hasImageFiles(name)) {
    const size = options.size as number;
    const folders = await imageFolders(name, { validPct: options['valid-pct'] as number, seed });
    const dataset = split === 'test' ? folders.test : folders[split];
    if (!dataset) throw new UsageError(`${name} has no test folder`);
    if (options.augment) {
      const loader = new ImageLoader(dataset, { batchSize: n, shuffle: true, seed, workers: 1, transforms: augmentTransforms({ size, flip: !options['no-flip'] }), normalize: 'none' });
      try { await showBatch(loader, { path: out, n, cols }); } finally { await loader.close(); }
    } else {
      await showBatch(dataset, { path: out, n, cols, seed, transforms: { size, resize: 'crop' } });
    }
    console.log(`kestrel: wrote ${out} (${Math.min(n, dataset.length)} ${split} images of ${dataset.length}, ${folders.classes.length} classes)`);
    return 0;
  }
  if (split === 'valid') throw new UsageError(`--split valid needs an image folder; '${name}' has train and test splits`);
  const data = await resolveDataset(name);
  const source = new DataLoader(split === 'train' ? data.train : data.test, { batchSize: n, shuffle: true, seed });
  await showBatch(source, { path: out, n, cols, classes: data.classes, normalization: data.normalize });
  console.log(`kestrel: wrote ${out} (${n} ${split} images of ${data.description})`);
  return 0;
}
