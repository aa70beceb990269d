/** `kestrel datasets list|download|verify [NAME]`: the standard datasets in the local cache. */
import { datasetCacheState, ensureDataset, verifyDataset } from '../data/ensure.js';
import { datasetDir, kestrelHome } from '../data/cache.js';
import { formatBytes, progressPrinter } from '../data/progress.js';
import { type DatasetFile, getDataset, listDatasets } from '../data/registry.js';
import type { DownloadProgress } from '../data/progress.js';
import { type CommandSpec, UsageError, commandHelp, parseCommand } from './args.js';

const ACTIONS = ['list', 'download', 'verify'] as const;

/** The command's arguments and options. */
export const datasetsSpec: CommandSpec = {
  name: 'datasets',
  summary: 'list, download (resumable, checksummed) or verify the standard datasets',
  positionals: [
    { name: 'action', description: 'list | download | verify' },
    { name: 'name', description: 'dataset name, e.g. mnist, fashion-mnist, cifar10, cifar100 (download, verify)', optional: true },
  ],
  options: {
    root: { type: 'string', description: 'cache root (default $KESTREL_HOME, $XDG_CACHE_HOME/kestrel or ~/.cache/kestrel)' },
    quiet: { type: 'boolean', description: 'no progress output' },
  },
};

function totalSize(files: DatasetFile[]): string {
  return files.every((f) => f.size !== undefined) ? formatBytes(files.reduce((sum, f) => sum + (f.size ?? 0), 0)) : '?';
}

function list(root: string | undefined): number {
  const rows = listDatasets().map((entry) => [entry.name, totalSize(entry.files), datasetCacheState(entry.name, { root }), entry.description]);
  const header = ['name', 'size', 'cached', 'description'];
  const widths = [0, 1, 2].map((i) => Math.max(header[i].length, ...rows.map((row) => row[i].length)));
  const format = (row: string[]): string => row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]) : cell)).join('  ');
  console.log(`cache: ${root ?? kestrelHome()}/datasets`);
  console.log(format(header));
  for (const row of rows) console.log(format(row));
  return 0;
}

async function downloadOne(name: string, root: string | undefined, quiet: boolean): Promise<number> {
  const printers = new Map<string, (p: DownloadProgress) => void>();
  const onProgress = quiet ? undefined : (progress: DownloadProgress, file: DatasetFile): void => {
    if (!printers.has(file.name)) printers.set(file.name, progressPrinter(file.name));
    printers.get(file.name)!(progress);
  };
  const dir = await ensureDataset(name, { root, onProgress, log: quiet ? undefined : (line) => console.error(line) });
  console.log(dir);
  return 0;
}

async function verify(name: string, root: string | undefined): Promise<number> {
  const results = await verifyDataset(name, { root });
  let bad = 0;
  for (const result of results) {
    if (result.status === 'ok') console.log(`ok        ${result.file}`);
    else if (result.status === 'missing') console.log(`missing   ${result.file} (${result.path})`);
    else console.log(`MISMATCH  ${result.file}: ${result.algorithm} expected ${result.expected}, got ${result.actual}`);
    if (result.status !== 'ok') bad += 1;
  }
  if (bad > 0) {
    console.error(`${bad} of ${results.length} file(s) of '${name}' in ${datasetDir(name, root)} are missing or corrupt; 'kestrel datasets download ${name}' fetches them again`);
    return 1;
  }
  return 0;
}

/** Runs `kestrel datasets`; resolves to the exit code (1 when verify finds a bad file). */
export async function runDatasets(argv: string[]): Promise<number> {
  const { positionals, options } = parseCommand(datasetsSpec, argv);
  if (options.help) { console.log(commandHelp(datasetsSpec)); return 0; }
  const [action, name] = positionals;
  if (!(ACTIONS as readonly string[]).includes(action)) throw new UsageError(`unknown action '${action}'; use one of ${ACTIONS.join(', ')}`);
  const root = options.root as string | undefined;
  if (action === 'list') {
    if (name !== undefined) throw new UsageError(`'kestrel datasets list' takes no name`);
    return list(root);
  }
  if (name === undefined) throw new UsageError(`'kestrel datasets ${action}' needs a dataset name: ${listDatasets().map((e) => e.name).join(', ')}`);
  getDataset(name);
  return action === 'download' ? downloadOne(name, root, options.quiet === true) : verify(name, root);
}
