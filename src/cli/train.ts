/** `kestrel train`: train a model on a dataset and save metrics and a model bundle. */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { manualSeed, setNumThreads, writeTextFileAtomic } from '../tensor/index.js';
import { GracefulStop, Learner, PRECISIONS, TimeKeeper } from '../learn/index.js';
import { defaultArchitectures, kestrelVersion, saveModel } from '../io/index.js';
import type { Module } from '../nn/index.js';
import type { VisionLearner } from '../vision/index.js';
import { DEFAULT_DASHBOARD_PORT, Dashboard } from '../dashboard/index.js';
import { type CommandSpec, type ParsedOptions, UsageError, commandHelp, parseCommand } from './args.js';
import { openDataset } from './dataset-arg.js';
import { SCHEDULES, type ScheduleName, checkPrecisionFlag, perClassResults, planCallbacks, resumeFrom, runSchedule } from './fit-plan.js';
import { checkOutputDir, makeOutputDir } from './output-dir.js';
import { writeRunReport } from './report.js';
import { destroyProcessGroup, distributedEnv, isMainProcess } from '../distributed/index.js';
import { chooseDevice, distributedOptionSpecs, joinFromEnv, perProcessBatch, runLauncher, wantsLauncher, workerArgv } from './distributed.js';
import { TRANSFER_OPTIONS, checkTransferFlags, openPretrained, runTransfer } from './transfer.js';
import { RECIPE_OPTIONS, type RecipeSetup, type RunLength, finalEvaluation, planRunLength, recipeBatchSize, setUpRecipe, usesRecipe } from './recipe.js';

const BIN = fileURLToPath(new URL('../../../bin/kestrel.js', import.meta.url));

/** The command's options. */
export const trainSpec: CommandSpec = {
  name: 'train',
  summary: 'train a model on a dataset; writes metrics.json, model.safetensors and model.json',
  positionals: [{ name: 'dataset', description: "'sample' (default, bundled), 'fashion-mnist', 'mnist', 'cifar10', a folder of images (train/valid/<class>/*), or a directory of IDX files", optional: true }],
  options: {
    model: { type: 'string', description: 'architecture (default: the small-image recipe\'s, see --preset)', default: 'mnist-cnn', choices: ['mnist-cnn', 'mlp', 'small-resnet', 'resnet18', 'resnet34', 'resnet50', 'mobilenet_v2'] },
    epochs: { type: 'integer', description: 'epochs to train', default: 3, min: 1 },
    lr: { type: 'number', description: 'learning rate (Adam)', default: 1e-3, min: 0 },
    bs: { type: 'integer', description: 'batch size', default: 64, min: 1 },
    seed: { type: 'integer', description: 'random seed (weights, shuffling, dropout)', default: 42, min: 0 },
    threads: { type: 'integer', description: 'libtorch threads (default: all cores)', min: 1 },
    out: { type: 'string', description: 'output directory', default: 'runs/latest' },
    size: { type: 'integer', description: 'image side in pixels (image folders)', default: 64, min: 8 },
    augment: { type: 'boolean', description: 'random crops, flips, rotations, lighting (image folders)' },
    'valid-pct': { type: 'number', description: 'validation share, between 0 and 1, of a folder without a valid/ split (default 0.2)' },
    schedule: { type: 'string', description: 'learning-rate schedule', default: 'constant', choices: SCHEDULES },
    'checkpoint-every': { type: 'integer', description: 'save a resumable checkpoint in OUT/checkpoint every N epochs', min: 1 },
    resume: { type: 'string', description: 'continue the run in DIR from its last checkpoint (same flags)' },
    'early-stop': { type: 'integer', description: 'stop after PATIENCE epochs without a lower validation loss', min: 1 },
    precision: { type: 'string', description: 'training precision: auto = bf16 where the CPU and libtorch support it, else fp32', default: 'auto', choices: PRECISIONS },
    'valid-precision': { type: 'string', description: "precision of each epoch's validation: training = the training precision (as fastai and Keras validate mixed-precision runs), fp32 or bf16; the final evaluation is float32", default: 'training', choices: ['training', 'fp32', 'bf16'] },
    dashboard: { type: 'integer', description: `serve a live training page on PORT (default ${DEFAULT_DASHBOARD_PORT}; 0: any free port)`, min: 0 },
    host: { type: 'string', description: 'address the dashboard binds (default 127.0.0.1: this machine only)' },
    report: { type: 'boolean', description: 'write OUT/report.html (kestrel report) when training ends' },
    ...distributedOptionSpecs,
    ...RECIPE_OPTIONS,
    ...TRANSFER_OPTIONS,
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
  const { positionals, options, given } = parseCommand(trainSpec, withDashboardPort(argv));
  if (options.help) { console.log(commandHelp(trainSpec)); return 0; }
  if (options.host !== undefined && options.dashboard === undefined) throw new UsageError('--host only applies with --dashboard');
  const precision = checkPrecisionFlag(String(options.precision));
  if (wantsLauncher(options)) {
    perProcessBatch(options.bs as number, (options.nproc as number) * (options.nnodes as number));
    return runLauncher([...process.execArgv, BIN, 'train', ...workerArgv(argv)], options);
  }
  const device = chooseDevice(options, distributedEnv());
  if (options.threads !== undefined) setNumThreads(options.threads as number);
  // NOTE: in a data-parallel job every rank trains; rank 0 alone prints and writes (the others hold the same numbers).
  const group = await joinFromEnv(options, device);
  const main = isMainProcess();
  const log = main ? console.log : () => undefined;
  const seed = options.seed as number;
  manualSeed(seed);
  const datasetName = positionals[0] ?? 'sample';
  const recipeOn = usesRecipe(given) && options.pretrained === undefined;
  checkTrainFlags(options, recipeOn);
  checkTransferFlags(options, given);
  const resumeDir = options.resume === undefined ? undefined : resolve(String(options.resume));
  const out = checkOutputDir(resumeDir && argv.every((a) => !a.startsWith('--out')) ? resumeDir : String(options.out));
  const batchSize = recipeOn ? recipeBatchSize(options, given) : options.bs as number;
  const pretrained = options.pretrained === undefined ? undefined : await openPretrained(String(options.pretrained), String(options.model), given.has('model'), given.has('size') ? options.size as number : undefined, options.cut as string | undefined);
  if (pretrained) log(`kestrel: pretrained: ${pretrained.description}`);
  const data = await openDataset(datasetName, {
    batchSize: perProcessBatch(batchSize, group?.worldSize ?? 1), seed, size: given.has('size') || !pretrained ? options.size as number : pretrained.size,
    augment: Boolean(options.augment), flip: !options['no-flip'], validPct: options['valid-pct'] as number | undefined,
    ...(pretrained ? { normalize: pretrained.normalize, channels: 3 as const, requireFolder: '--pretrained' } : {}),
  });
  if (data.valid.numSamples === 0) {
    await data.close();
    throw new Error(`no validation images in ${data.description}; raise --valid-pct or add a valid/ folder`);
  }
  const recipe: RecipeSetup | undefined = recipeOn ? await setUpRecipe(data, options, given, seed) : undefined;
  const architecture = pretrained ? 'transfer' : recipe?.architecture.name ?? String(options.model);
  const [channels, height, width] = data.inputShape;
  let architectureOptions = recipe?.architecture.options ?? { numClasses: data.classes.length, input: { channels, height, width } };
  let model: Module | undefined = recipe?.model;
  if (!pretrained && !model) {
    const factory = defaultArchitectures[architecture];
    if (!factory) throw new UsageError(`unknown model '${architecture}'`);
    model = factory(architectureOptions);
  }
  if (main) makeOutputDir(out);
  const lr = recipe?.recipe.lr ?? options.lr as number;
  const schedule = (recipe?.recipe.schedule ?? String(options.schedule)) as ScheduleName;
  const { recorder, callbacks } = planCallbacks(out, { checkpointEvery: options['checkpoint-every'] as number | undefined, earlyStop: options['early-stop'] as number | undefined });
  // NOTE: always present, so a stop (dashboard button, Ctrl-C) leaves a checkpoint that --resume continues mid-epoch.
  const stop = new GracefulStop(join(out, 'checkpoint'));
  const settings: Record<string, unknown> = Object.fromEntries(Object.entries(options).filter(([k, v]) => k !== 'help' && v !== undefined));
  // NOTE: the settings the run used, not the flags' defaults it ignored (the recipe picks model, lr, batch size, schedule, length).
  Object.assign(settings, { model: architecture, lr, bs: batchSize, schedule });
  if (recipe) {
    settings.preset = recipe.recipe.preset;
    settings.epochs = given.has('epochs') ? options.epochs : recipe.recipe.timeSeconds === null ? recipe.recipe.epochs : `planned within ${recipe.recipe.timeSeconds} s`;
  }
  const run = {
    command: ['kestrel', 'train', ...argv].map(shellQuote).join(' '), argv, settings: { dataset: datasetName, ...settings } as Record<string, unknown>, dataset: datasetName,
    description: data.description, kestrelVersion: kestrelVersion(), startedAt,
  };
  const dashboard = options.dashboard === undefined || !main ? undefined : new Dashboard({
    port: options.dashboard as number, host: options.host as string | undefined, title: `kestrel train: ${architecture} on ${datasetName}`,
    command: run.command, settings: run.settings, classes: data.classes, onListen: (url) => console.log(`kestrel: dashboard at ${url}`),
  });
  const validationPrecision = String(options['valid-precision']) as 'training' | 'fp32' | 'bf16';
  const learnerOptions = { lr, callbacks: [...callbacks, stop, ...(dashboard ? [dashboard] : [])], precision, device, distributed: group !== null, validationPrecision };
  let learn: Learner;
  let transfer: VisionLearner | undefined;
  if (pretrained) {
    learn = transfer = pretrained.learner({ train: data.train, valid: data.valid }, { ...learnerOptions, precompute: Boolean(options.precompute), nOut: data.classes.length });
    model = transfer.model;
    architectureOptions = pretrained.architecture(transfer, data.classes.length).options;
  } else {
    learn = new Learner(model!, { train: recipe?.train ?? data.train, valid: data.valid }, { ...learnerOptions, ...recipe?.learnerOptions });
  }
  log(`kestrel: training ${architecture} (${model!.numParameters().toLocaleString('en-US')} parameters) on ${data.description}`);
  if (precision !== 'auto') log(`kestrel: precision ${learn.amp.precision}`);
  run.settings['valid-precision'] = learn.validation.choice.precision;
  if (learn.validation.choice.precision !== 'fp32') {
    log(`kestrel: validation after each epoch in ${learn.validation.choice.precision}${validationPrecision === 'training' ? ' (the training precision; --valid-precision fp32 for float32)' : ''}, the final evaluation in float32`);
  }
  // NOTE: a resumed run keeps the length of the run it continues (a recipe's time plan included, unless --epochs says otherwise).
  const fineTuning = options['fine-tune'] !== undefined;
  const resumed = resumeDir ? resumeFrom(learn, resumeDir, fineTuning || (recipe && !given.has('epochs')) ? undefined : (recipe?.recipe.epochs ?? options.epochs as number)) : undefined;
  const length: RunLength = resumed ?? (recipe ? await planRunLength(learn, recipe.recipe) : { epochs: options.epochs as number });
  const { epochs } = length;
  const startEpoch = resumed?.startEpoch ?? 0;
  let extra: Record<string, unknown> = {};
  let final: { accuracy: number; tta: boolean } | undefined;
  // NOTE: Ctrl-C and SIGTERM (a job scheduler, `kill`) stop the same way; the exit code then says which (130, 143).
  let signalled: NodeJS.Signals | undefined;
  const interrupt = (signal: NodeJS.Signals) => {
    if (stop.requested !== null) process.exit(signal === 'SIGTERM' ? 143 : 130);
    signalled = signal;
    console.error(`\nkestrel: stopping after this batch (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to quit now)`);
    stop.request(`interrupted (${signal === 'SIGINT' ? 'Ctrl-C' : signal})`);
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  try {
    if (dashboard) await dashboard.start();
    if (transfer) {
      await runTransfer(transfer, options, given, resumed ? { stage: resumed.stage, epoch: resumed.startEpoch } : undefined);
      // NOTE: the final evaluation and the saved model take images, not cached features.
      transfer.setPrecompute(false);
    } else {
      // NOTE: a time plan is held to its budget: the keeper shortens the fit when epochs run slower than the warm-up
      // said, and lengthens it up to the recipe's epoch cap (the preset's) when they run faster. Not in a
      // data-parallel run, whose ranks would each replan by their own clock and fall out of step. An explicit
      // budget (--time without a preset cap) has no epoch cap: it is filled in full.
      const plan = length.plan;
      const cap = recipe?.recipe.epochs ? recipe.recipe.epochs * learn.data.train.length : Infinity;
      const keeper = plan && group === null ? new TimeKeeper({ budgetSeconds: plan.budgetSeconds, finalSeconds: plan.finalSeconds, maxIterations: cap, onReplan: (line, change) => { log(`kestrel: plan: ${line}`); plan.replans.push(change); } }) : null;
      await runSchedule(learn, schedule, epochs, lr, { startEpoch, iterations: length.iterations, ...(keeper ? { callbacks: [keeper] } : {}) });
    }
    if (stop.stopped) {
      // NOTE: stopped early: no final evaluation, the checkpoint resumes.
    } else if (recipe) {
      const { accuracy, tta, ...perClass } = await finalEvaluation(learn, data.valid, data.classes, recipe.recipe.tta);
      final = { accuracy, tta };
      extra = { ...perClass, final, recipe: { ...recipe.recipe, flipCheck: recipe.flipCheck }, ...(length.plan ? { plan: length.plan } : {}) };
    } else {
      extra = await perClassResults(learn, data.valid, data.classes);
    }
  } catch (error) {
    dashboard?.fail((error as Error).message);
    throw error;
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await data.close();
    await dashboard?.close();
    // NOTE: write what was learned even when training stops early (e.g. NaN loss).
    const stopped = stop.stopped ? { stopped: { epoch: stop.stopped.epoch, batch: stop.stopped.batch, reason: stop.stopped.reason } } : {};
    if ((learn.history.length > 0 || stop.stopped) && main) {
      writeMetrics(out, learn.history, {
        precision: learn.amp.precision, schedule: { name: schedule, lrMax: lr, lrs: recorder.lrs, moms: recorder.moms, losses: recorder.losses }, ...extra,
        run: { ...run, finishedAt: new Date().toISOString() }, ...stopped,
      });
    }
  }
  if (stop.stopped) console.log(`kestrel: stopped at epoch ${stop.stopped.epoch}, batch ${stop.stopped.batch} (${stop.stopped.reason}); resume with: kestrel train ${argv.filter((a, i) => !a.startsWith('--dashboard') && !(argv[i - 1] === '--dashboard' && /^\d+$/.test(a))).map(shellQuote).join(' ')} --resume ${shellQuote(out)}`);
  const last = learn.history[learn.history.length - 1];
  await destroyProcessGroup();
  if (!main) return 0;
  const finalAccuracy = final?.accuracy ?? last?.metrics.accuracy ?? NaN;
  saveModel(out, model!, {
    architecture: { name: architecture, options: architectureOptions },
    classes: data.classes,
    inputShape: data.inputShape,
    normalize: data.normalize,
    metrics: { accuracy: finalAccuracy, validLoss: last?.validLoss ?? NaN, epochs: learn.history.length },
  });
  if (last) {
    const withoutTta = final?.tta ? ` (flip-TTA; ${(100 * (last.metrics.accuracy ?? NaN)).toFixed(2)}% without)` : '';
    console.log(`test accuracy ${(100 * finalAccuracy).toFixed(2)}% after ${learn.history.length} epochs${withoutTta}, ${process.uptime().toFixed(0)} s in all`);
  }
  console.log(`results in ${out}: metrics.json, model.safetensors, model.json`);
  if (options.report) console.log(`kestrel: wrote ${await writeRunReport(out)}`);
  return signalled === 'SIGTERM' ? 143 : signalled === 'SIGINT' ? 130 : 0;
}

/** Usage errors among the flags that the parser cannot see alone. */
function checkTrainFlags(options: ParsedOptions, recipeOn: boolean): void {
  const validPct = options['valid-pct'] as number | undefined;
  if (validPct !== undefined && !(validPct > 0 && validPct < 1)) {
    throw new UsageError(`option --valid-pct must be between 0 and 1 (the share of images held out for validation), got ${validPct}`);
  }
  if (options['no-flip'] && !options.augment && !recipeOn) throw new UsageError('--no-flip only applies with --augment');
}

function writeMetrics(out: string, history: Learner['history'], extra: Record<string, unknown>): void {
  const epochs = history.map((r) => ({
    epoch: r.epoch, trainLoss: r.trainLoss, validLoss: r.validLoss, accuracy: r.metrics.accuracy,
    seconds: r.seconds, samplesPerSecond: r.samplesPerSecond, lr: r.lr,
  }));
  writeTextFileAtomic(resolve(out, 'metrics.json'), JSON.stringify({ epochs, ...extra }) + '\n');
}
