/** Finished runs side by side: `kestrel dashboard RUNS_DIR` reads every RUN/metrics.json under a folder. */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PageServer } from './server.js';

/** What `kestrel train` records about itself in metrics.json (`run`). */
export interface RunInfo {
  /** The command line as typed (kestrel train ...). */
  command: string;
  argv: string[];
  /** Every option's value after defaults. */
  settings: Record<string, string | number | boolean | null>;
  /** The dataset argument. */
  dataset: string;
  /** What the dataset was (name and sizes). */
  description?: string;
  kestrelVersion?: string;
  startedAt?: string;
  finishedAt?: string;
}

/** metrics.json as `kestrel train` writes it (read loosely: older runs lack some fields). */
export interface RunMetrics {
  epochs: { epoch: number; trainLoss: number; validLoss: number; accuracy: number; seconds: number; samplesPerSecond: number; lr: number }[];
  schedule?: { name: string; lrMax: number; lrs: number[]; moms: number[]; losses?: number[] };
  perClass?: Record<string, { accuracy: number; precision: number; recall: number; f1: number }>;
  confusionMatrix?: { classes: string[]; counts: number[][] };
  run?: RunInfo;
  stopped?: { epoch: number; batch: number; reason: string };
}

/** Reads DIR/metrics.json, or null when there is none; a broken file is an error naming it. */
export function readRunMetrics(dir: string): RunMetrics | null {
  const path = join(dir, 'metrics.json');
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`'${path}' is not valid JSON (${(error as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || !Array.isArray((raw as RunMetrics).epochs)) throw new Error(`'${path}' is not a Kestrel metrics file (no epochs list)`);
  return raw as RunMetrics;
}

/** One run as the runs page shows it. */
export interface RunSummary {
  name: string;
  metrics: RunMetrics | null;
  /** Why the run could not be read, when it could not. */
  error?: string;
}

/** Every sub-folder of `root` holding a metrics.json (and `root` itself if it holds one), sorted by name. */
export function listRuns(root: string): RunSummary[] {
  const dir = resolve(root);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`runs folder '${root}' is not a directory`);
  const names = existsSync(join(dir, 'metrics.json')) ? ['.'] : [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory() && existsSync(join(dir, entry.name, 'metrics.json'))) names.push(entry.name);
  return names.sort().map((name) => {
    try {
      return { name, metrics: readRunMetrics(join(dir, name)) };
    } catch (error) {
      return { name, metrics: null, error: (error as Error).message };
    }
  });
}

/** Serves the runs page for `root` (re-read on every request, so runs still training show up as they go). */
export function runsServer(root: string, options: { port?: number; host?: string } = {}): PageServer {
  listRuns(root);
  return new PageServer({ page: 'runs', port: options.port, host: options.host, api: { runs: () => ({ root: resolve(root), runs: listRuns(root) }) } });
}
