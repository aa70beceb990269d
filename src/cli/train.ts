/** `kestrel train`: train a model on a dataset and save metrics and a model bundle. */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { manualSeed, setNumThreads, writeTextFileAtomic } from '../tensor/index.js';
import { GracefulStop, Learner } from '../learn/index.js';
import { defaultArchitectures, kestrelVersion, saveModel } from '../io/index.js';
import { DEFAULT_DASHBOARD_PORT, Dashboard } from '../dashboard/index.js';
import { type CommandSpec, UsageError, commandHelp, parseCommand } from './args.js';
import { openDataset } from './dataset-arg.js';
import { SCHEDULES, type ScheduleName, perClassResults, planCallbacks, resumeFrom, runSchedule } from './fit-plan.js';
import { writeRunReport } from './report.js';

/** The command's options. */
export const trainSpec: CommandSpec = {
  name: 'train',
  summary: 'train a model on a dataset; writes metrics.json, model.safetensors and model.json',
  positionals: [{ name: 'dataset', description: "'sample' (default, bundled), 'fashion-mnist', 'mnist', 'cifar10', a folder of images (train/valid/<class>/*), or a directory of IDX files", optional: true }],
  options: {
    model: { type: 'string', description: 'architecture', default: 'mnist-cnn', choices: ['mnist-cnn', 'mlp', 'resnet18', 'resnet34', 'resnet50'] },
    epochs: { type: 'integer', description: 'epochs to train', default: 3, min: 1 },
    lr: { type: 'number', description: 'learning rate (Adam)', default: 1e-3, min: 0 },
    bs: { type: 'integer', description: 'batch size', default: 64, min: 1 },
    seed: { type: 'integer', description: 'random seed (weights, shuffling, dropout)', default: 42, min: 0 },
    threads: { type: 'integer', description: 'libtorch threads (default: all cores)', min: 1 },
    out: { type: 'string', description: 'output directory', default: 'runs/latest' },
    size: { type: 'integer', description: 'image side in pixels (image folders)', default: 64, min: 8 },
    augment: { type: 'boolean', description: 'random crops, flips, rotations, lighting (image folders)' },
    'valid-pct': { type: 'number', description: 'validation share when a folder has no valid/ split', default: 0.2, min: 0 },
    schedule: { type: 'string', description: 'learning-rate schedule', default: 'constant', choices: SCHEDULES },
    'checkpoint-every': { type: 'integer', description: 'save a resumable checkpoint in OUT/checkpoint every N epochs', min: 1 },
    resume: { type: 'string', description: 'continue the run in DIR from its last checkpoint (same flags)' },
    'early-stop': { type: 'integer', description: 'stop after PATIENCE epochs without a lower validation loss', min: 1 },
    dashboard: { type: 'integer', description: `serve a live training page on PORT (default ${DEFAULT_DASHBOARD_PORT}; 0: any free port)`, min: 0 },
    host: { type: 'string', description: 'address the dashboard binds (default 127.0.0.1: this machine only)' },
    report: { type: 'boolean', description: 'write OUT/report.html (kestrel report) when training ends' },
  },
};

/** Quotes an argument for a shell command line shown to people. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** `--dashboard` may stand alone (default port) or take a port: util.parseArgs needs a value, so one is filled in. */
function withDashboardPort(argv: string[]): string[] {
  return argv.map((arg, i) => (arg === '--dashboard' && !/^\d+$/.test(argv[i + 1] ?? '') ? `--dashboard=${DEFAULT_DASHBOARD_PORT}` : arg));
}

/** Trains and saves; resolves to the exit code. */
export async function runTrain(argv: string[]): Promise<number> {
  const startedAt = new Date().toISOString();
  const { positionals, options } = parseCommand(trainSpec, withDashboardPort(argv));
  if (options.help) { console.log(commandHelp(trainSpec)); return 0; }
  if (options.host !== undefined && options.dashboard === undefined) throw new UsageError('--host only applies with --dashboard');
  if (options.threads !== undefined) setNumThreads(options.threads as number);
  const seed = options.seed as number;
  manualSeed(seed);
  const datasetName = positionals[0] ?? 'sample';
  const data = await openDataset(datasetName, {
    batchSize: options.bs as number, seed, size: options.size as number, augment: Boolean(options.augment), validPct: options['valid-pct'] as number,
  });
  const architecture = String(options.model);
  const factory = defaultArchitectures[architecture];
  if (!factory) throw new UsageError(`unknown model '${architecture}'`);
  const [channels, height, width] = data.inputShape;
  const architectureOptions = { numClasses: data.classes.length, input: { channels, height, width } };
  const model = factory(architectureOptions);
  const resumeDir = options.resume === undefined ? undefined : resolve(String(options.resume));
  const out = resumeDir && argv.every((a) => !a.startsWith('--out')) ? resumeDir : resolve(String(options.out));
  mkdirSync(out, { recursive: true });

  console.log(`kestrel: training ${architecture} (${model.numParameters().toLocaleString('en-US')} parameters) on ${data.description}`);
  const epochs = options.epochs as number;
  const lr = options.lr as number;
  const schedule = String(options.schedule) as ScheduleName;
  const { recorder, callbacks } = planCallbacks(out, { checkpointEvery: options['checkpoint-every'] as number | undefined, earlyStop: options['early-stop'] as number | undefined });
  // NOTE: always present, so a stop (dashboard button, Ctrl-C) leaves a checkpoint that --resume continues mid-epoch.
  const stop = new GracefulStop(join(out, 'checkpoint'));
  const settings = Object.fromEntries(Object.entries(options).filter(([k, v]) => k !== 'help' && v !== undefined));
  const run = {
    command: ['kestrel', 'train', ...argv].map(shellQuote).join(' '), argv, settings: { dataset: datasetName, ...settings }, dataset: datasetName,
    description: data.description, kestrelVersion: kestrelVersion(), startedAt,
  };
  const dashboard = options.dashboard === undefined ? undefined : new Dashboard({
    port: options.dashboard as number, host: options.host as string | undefined, title: `kestrel train: ${architecture} on ${datasetName}`,
    command: run.command, settings: run.settings, classes: data.classes, onListen: (url) => console.log(`kestrel: dashboard at ${url}`),
  });
  const learn = new Learner(model, { train: data.train, valid: data.valid }, { lr, callbacks: [...callbacks, stop, ...(dashboard ? [dashboard] : [])] });
  const startEpoch = resumeDir ? resumeFrom(learn, resumeDir, epochs) : 0;
  let extra: Record<string, unknown> = {};
  const interrupt = () => {
    if (stop.requested !== null) process.exit(130);
    console.error('\nkestrel: stopping after this batch (Ctrl-C again to quit now)');
    stop.request('interrupted (Ctrl-C)');
  };
  process.on('SIGINT', interrupt);
  try {
    if (dashboard) await dashboard.start();
    await runSchedule(learn, schedule, epochs, lr, { startEpoch });
    extra = await perClassResults(learn, data.valid, data.classes);
  } catch (error) {
    dashboard?.fail((error as Error).message);
    throw error;
  } finally {
    process.off('SIGINT', interrupt);
    await data.close();
    await dashboard?.close();
    // NOTE: write what was learned even when training stops early (e.g. NaN loss).
    const stopped = stop.stopped ? { stopped: { epoch: stop.stopped.epoch, batch: stop.stopped.batch, reason: stop.stopped.reason } } : {};
    if (learn.history.length > 0 || stop.stopped) {
      writeMetrics(out, learn.history, {
        schedule: { name: schedule, lrMax: lr, lrs: recorder.lrs, moms: recorder.moms, losses: recorder.losses }, ...extra,
        run: { ...run, finishedAt: new Date().toISOString() }, ...stopped,
      });
    }
  }
  if (stop.stopped) console.log(`kestrel: stopped at epoch ${stop.stopped.epoch}, batch ${stop.stopped.batch} (${stop.stopped.reason}); resume with: kestrel train ${argv.filter((a, i) => !a.startsWith('--dashboard') && !(argv[i - 1] === '--dashboard' && /^\d+$/.test(a))).map(shellQuote).join(' ')} --resume ${shellQuote(out)}`);
  const last = learn.history[learn.history.length - 1];
  saveModel(out, model, {
    architecture: { name: architecture, options: architectureOptions },
    classes: data.classes,
    inputShape: data.inputShape,
    normalize: data.normalize,
    metrics: { accuracy: last?.metrics.accuracy ?? NaN, validLoss: last?.validLoss ?? NaN, epochs: learn.history.length },
  });
  if (last) console.log(`test accuracy ${(100 * (last.metrics.accuracy ?? NaN)).toFixed(2)}% after ${learn.history.length} epochs`);
  console.log(`results in ${out}: metrics.json, model.safetensors, model.json`);
  if (options.report) console.log(`kestrel: wrote ${await writeRunReport(out)}`);
  return 0;
}

function writeMetrics(out: string, history: Learner['history'], extra: Record<string, unknown>): void {
  const epochs = history.map((r) => ({
    epoch: r.epoch, trainLoss: r.trainLoss, validLoss: r.validLoss, accuracy: r.metrics.accuracy,
    seconds: r.seconds, samplesPerSecond: r.samplesPerSecond, lr: r.lr,
  }));
  writeTextFileAtomic(resolve(out, 'metrics.json'), JSON.stringify({ epochs, ...extra }) + '\n');
}
