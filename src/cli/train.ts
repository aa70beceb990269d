/** `kestrel train`: train a model on a dataset and save metrics and a model bundle. */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { manualSeed, setNumThreads, writeTextFileAtomic } from '../tensor/index.js';
import { Learner } from '../learn/index.js';
import { defaultArchitectures, saveModel } from '../io/index.js';
import { type CommandSpec, UsageError, commandHelp, parseCommand } from './args.js';
import { openDataset } from './dataset-arg.js';
import { SCHEDULES, type ScheduleName, perClassResults, planCallbacks, resumeFrom, runSchedule } from './fit-plan.js';
import { RECIPE_OPTIONS, type RecipeSetup, type RunLength, finalEvaluation, planRunLength, recipeBatchSize, setUpRecipe, usesRecipe } from './recipe.js';

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
    ...RECIPE_OPTIONS,
  },
};

/** Trains and saves; resolves to the exit code. */
export async function runTrain(argv: string[]): Promise<number> {
  const { positionals, options, given } = parseCommand(trainSpec, argv);
  if (options.help) { console.log(commandHelp(trainSpec)); return 0; }
  if (options.threads !== undefined) setNumThreads(options.threads as number);
  const seed = options.seed as number;
  manualSeed(seed);
  const datasetName = positionals[0] ?? 'sample';
  const recipeOn = usesRecipe(given);
  const data = await openDataset(datasetName, {
    batchSize: recipeOn ? recipeBatchSize(options, given) : options.bs as number, seed, size: options.size as number, augment: Boolean(options.augment), validPct: options['valid-pct'] as number,
  });
  const run: RecipeSetup | undefined = recipeOn ? await setUpRecipe(data, options, given, seed) : undefined;
  const architecture = run?.architecture.name ?? String(options.model);
  const factory = defaultArchitectures[architecture];
  if (!factory) throw new UsageError(`unknown model '${architecture}'`);
  const [channels, height, width] = data.inputShape;
  const architectureOptions = run?.architecture.options ?? { numClasses: data.classes.length, input: { channels, height, width } };
  const model = run?.model ?? factory(architectureOptions);
  const resumeDir = options.resume === undefined ? undefined : resolve(String(options.resume));
  const out = resumeDir && argv.every((a) => !a.startsWith('--out')) ? resumeDir : resolve(String(options.out));
  mkdirSync(out, { recursive: true });

  console.log(`kestrel: training ${architecture} (${model.numParameters().toLocaleString('en-US')} parameters) on ${data.description}`);
  const lr = run?.recipe.lr ?? options.lr as number;
  const schedule = (run?.recipe.schedule ?? String(options.schedule)) as ScheduleName;
  const { recorder, callbacks } = planCallbacks(out, { checkpointEvery: options['checkpoint-every'] as number | undefined, earlyStop: options['early-stop'] as number | undefined });
  const learn = new Learner(model, { train: run?.train ?? data.train, valid: data.valid }, { lr, callbacks, ...run?.learnerOptions });
  const length: RunLength = run && !resumeDir ? await planRunLength(learn, run.recipe) : { epochs: run?.recipe.epochs ?? options.epochs as number };
  const epochs = length.epochs;
  const startEpoch = resumeDir ? resumeFrom(learn, resumeDir, epochs) : 0;
  let extra: Record<string, unknown> = {};
  let final: { accuracy: number; tta: boolean } | undefined;
  try {
    await runSchedule(learn, schedule, epochs, lr, { startEpoch, iterations: length.iterations });
    if (run) {
      const { accuracy, tta, ...perClass } = await finalEvaluation(learn, data.valid, data.classes, run.recipe.tta);
      final = { accuracy, tta };
      extra = { ...perClass, final, recipe: { ...run.recipe, flipCheck: run.flipCheck }, ...(length.plan ? { plan: length.plan } : {}) };
    } else {
      extra = await perClassResults(learn, data.valid, data.classes);
    }
  } finally {
    await data.close();
    // NOTE: write what was learned even when training stops early (e.g. NaN loss).
    if (learn.history.length > 0) writeMetrics(out, learn.history, { schedule: { name: schedule, lrMax: lr, lrs: recorder.lrs, moms: recorder.moms }, ...extra });
  }
  const last = learn.history[learn.history.length - 1];
  const finalAccuracy = final?.accuracy ?? last.metrics.accuracy;
  saveModel(out, model, {
    architecture: { name: architecture, options: architectureOptions },
    classes: data.classes,
    inputShape: data.inputShape,
    normalize: data.normalize,
    metrics: { accuracy: finalAccuracy, validLoss: last.validLoss, epochs: learn.history.length },
  });
  const timing = `${process.uptime().toFixed(0)} s`;
  console.log(`test accuracy ${(100 * (finalAccuracy ?? NaN)).toFixed(2)}% after ${learn.history.length} epochs${final?.tta ? ` (flip-TTA; ${(100 * (last.metrics.accuracy ?? NaN)).toFixed(2)}% without)` : ''}, ${timing}`);
  console.log(`results in ${out}: metrics.json, model.safetensors, model.json`);
  return 0;
}

function writeMetrics(out: string, history: Learner['history'], extra: Record<string, unknown>): void {
  const epochs = history.map((r) => ({
    epoch: r.epoch, trainLoss: r.trainLoss, validLoss: r.validLoss, accuracy: r.metrics.accuracy,
    seconds: r.seconds, samplesPerSecond: r.samplesPerSecond, lr: r.lr,
  }));
  writeTextFileAtomic(resolve(out, 'metrics.json'), JSON.stringify({ epochs, ...extra }) + '\n');
}
