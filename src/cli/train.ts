/** `kestrel train`: train a model on a dataset and save metrics and a model bundle. */
import { join, resolve } from 'node:path';
import { manualSeed, setNumThreads, writeTextFileAtomic } from '../tensor/index.js';
import { Learner, hasCheckpoint } from '../learn/index.js';
import { defaultArchitectures, saveModel } from '../io/index.js';
import { type CommandSpec, type ParsedOptions, UsageError, commandHelp, parseCommand } from './args.js';
import { Interrupt, exitCode } from './interrupt.js';
import { checkOutputDir, makeOutputDir } from './output-dir.js';
import { openDataset } from './dataset-arg.js';
import { SCHEDULES, type ScheduleName, perClassResults, planCallbacks, resumeFrom, runSchedule } from './fit-plan.js';

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
    'no-flip': { type: 'boolean', description: 'with --augment: no horizontal flips (digits, text)' },
    'valid-pct': { type: 'number', description: 'validation share, between 0 and 1, of a folder without a valid/ split (default 0.2)' },
    schedule: { type: 'string', description: 'learning-rate schedule', default: 'constant', choices: SCHEDULES },
    'checkpoint-every': { type: 'integer', description: 'save a resumable checkpoint in OUT/checkpoint every N epochs', min: 1 },
    resume: { type: 'string', description: 'continue the run in DIR from its last checkpoint (same flags)' },
    'early-stop': { type: 'integer', description: 'stop after PATIENCE epochs without a lower validation loss', min: 1 },
  },
};

/** Trains and saves; resolves to the exit code. */
export async function runTrain(argv: string[]): Promise<number> {
  const { positionals, options } = parseCommand(trainSpec, argv);
  if (options.help) { console.log(commandHelp(trainSpec)); return 0; }
  if (options.threads !== undefined) setNumThreads(options.threads as number);
  const seed = options.seed as number;
  manualSeed(seed);
  const datasetName = positionals[0] ?? 'sample';
  checkTrainFlags(options);
  const resumeDir = options.resume === undefined ? undefined : resolve(String(options.resume));
  const out = checkOutputDir(resumeDir && argv.every((a) => !a.startsWith('--out')) ? resumeDir : String(options.out));
  const data = await openDataset(datasetName, {
    batchSize: options.bs as number, seed, size: options.size as number, augment: Boolean(options.augment), flip: !options['no-flip'],
    validPct: options['valid-pct'] as number | undefined,
  });
  if (data.valid.numSamples === 0) {
    await data.close();
    throw new Error(`no validation images in ${data.description}; raise --valid-pct or add a valid/ folder`);
  }
  const architecture = String(options.model);
  const factory = defaultArchitectures[architecture];
  if (!factory) throw new UsageError(`unknown model '${architecture}'`);
  const [channels, height, width] = data.inputShape;
  const architectureOptions = { numClasses: data.classes.length, input: { channels, height, width } };
  const model = factory(architectureOptions);
  makeOutputDir(out);

  console.log(`kestrel: training ${architecture} (${model.numParameters().toLocaleString('en-US')} parameters) on ${data.description}`);
  const epochs = options.epochs as number;
  const lr = options.lr as number;
  const schedule = String(options.schedule) as ScheduleName;
  const { recorder, callbacks } = planCallbacks(out, { checkpointEvery: options['checkpoint-every'] as number | undefined, earlyStop: options['early-stop'] as number | undefined });
  const interrupt = new Interrupt();
  const learn = new Learner(model, { train: data.train, valid: data.valid }, { lr, callbacks: [...callbacks, interrupt] });
  const startEpoch = resumeDir ? resumeFrom(learn, resumeDir, epochs) : 0;
  let extra: Record<string, unknown> = {};
  try {
    interrupt.install();
    await runSchedule(learn, schedule, epochs, lr, { startEpoch });
    if (!interrupt.signal) extra = await perClassResults(learn, data.valid, data.classes);
  } finally {
    interrupt.uninstall();
    await data.close();
    // NOTE: write what was learned even when training stops early (e.g. NaN loss).
    if (learn.history.length > 0) writeMetrics(out, learn.history, { schedule: { name: schedule, lrMax: lr, lrs: recorder.lrs, moms: recorder.moms }, ...extra });
  }
  if (interrupt.signal) return interrupted(interrupt.signal, learn, out);
  const last = learn.history[learn.history.length - 1];
  saveModel(out, model, {
    architecture: { name: architecture, options: architectureOptions },
    classes: data.classes,
    inputShape: data.inputShape,
    normalize: data.normalize,
    metrics: { accuracy: last.metrics.accuracy, validLoss: last.validLoss, epochs: learn.history.length },
  });
  console.log(`test accuracy ${(100 * (last.metrics.accuracy ?? NaN)).toFixed(2)}% after ${learn.history.length} epochs`);
  console.log(`results in ${out}: metrics.json, model.safetensors, model.json`);
  return 0;
}

/** Usage errors among the flags that the parser cannot see alone. */
function checkTrainFlags(options: ParsedOptions): void {
  const validPct = options['valid-pct'] as number | undefined;
  if (validPct !== undefined && !(validPct > 0 && validPct < 1)) {
    throw new UsageError(`option --valid-pct must be between 0 and 1 (the share of images held out for validation), got ${validPct}`);
  }
  if (options['no-flip'] && !options.augment) throw new UsageError('--no-flip only applies with --augment');
}

/** After Ctrl-C or SIGTERM: metrics.json already holds the finished epochs; say where things stand. */
function interrupted(signal: NodeJS.Signals, learn: Learner, out: string): number {
  const done = learn.history.length ? learn.history[learn.history.length - 1].epoch : 0;
  const resumable = hasCheckpoint(join(out, 'checkpoint'));
  console.error(`kestrel: interrupted after epoch ${done}; ${resumable
    ? `resume with --resume ${out}`
    : 'no checkpoint to resume from (add --checkpoint-every 1 to make a run resumable)'}${done > 0 ? `; metrics of the finished epochs in ${join(out, 'metrics.json')}` : ''}`);
  return exitCode(signal);
}

function writeMetrics(out: string, history: Learner['history'], extra: Record<string, unknown>): void {
  const epochs = history.map((r) => ({
    epoch: r.epoch, trainLoss: r.trainLoss, validLoss: r.validLoss, accuracy: r.metrics.accuracy,
    seconds: r.seconds, samplesPerSecond: r.samplesPerSecond, lr: r.lr,
  }));
  writeTextFileAtomic(resolve(out, 'metrics.json'), JSON.stringify({ epochs, ...extra }) + '\n');
}
