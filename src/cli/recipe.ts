/** The small-image recipe in `kestrel train`: its flags, how flags override it, the time plan and the final evaluation. */
import {
  AugmentedLoader, BatchAugment, type BatchSource, DataLoader, type FlipCheck, flipCheckDataset, flipCheckSource,
} from '../data/index.js';
import {
  type FitPlan, type Learner, type TimeKeeperChange, type LearnerOptions, type SpeedMeasurement, confusionMatrix, measureSpeed, planFit, tta,
} from '../learn/index.js';
import type { Module } from '../nn/index.js';
import { dispose, tidy } from '../tensor/index.js';
import {
  PRESETS, PRESET_NAMES, type PresetName, type Recipe, type RecipeOverrides, describeRecipe, formatSeconds, recipeAugment, recipeLoss,
  recipeModel, recipeOptimizer, smallImageRecipe,
} from '../vision/recipes/small-images.js';
import { defaultArchitectures } from '../io/index.js';
import { type OptionSpec, type ParsedOptions, UsageError } from './args.js';
import type { OpenedDataset } from './dataset-arg.js';
import { parseDuration } from '../learn/time-budget.js';
import { perClassFromMatrix } from './fit-plan.js';

/** The flags that tune the recipe (added to `kestrel train`). */
export const RECIPE_OPTIONS: Record<string, OptionSpec> = {
  preset: { type: 'string', description: 'recipe preset (the recipe runs when --model is not given): fast, ~10 min on 2 cores for Fashion-MNIST, or best, ~30 min (default fast)', choices: PRESET_NAMES },
  time: { type: 'string', description: 'time budget such as 10m, 90s or 1h30m: the epochs are planned from a short warm-up (--epochs wins)' },
  'label-smoothing': { type: 'number', description: 'recipe: label smoothing of the loss, 0 for none (default 0.1)', min: 0 },
  wd: { type: 'number', description: 'recipe: weight decay of AdamW (default 0.05)', min: 0 },
  'no-augment': { type: 'boolean', description: 'recipe: no random crops, flips or erasing' },
  flip: { type: 'boolean', description: 'recipe: horizontal flips even where the data says no' },
  'no-flip': { type: 'boolean', description: 'no horizontal flips (digits, text): in the recipe, or with --augment' },
  'no-tta': { type: 'boolean', description: 'recipe: plain final evaluation instead of flip-TTA' },
};

/** Whether `kestrel train` uses the recipe: when --model is not given, or when --preset is. */
export function usesRecipe(given: ReadonlySet<string>): boolean {
  return !given.has('model') || given.has('preset');
}

/** The recipe's preset from the flags (default fast). */
export function presetOf(options: ParsedOptions): PresetName {
  return (options.preset as PresetName | undefined) ?? 'fast';
}

/** Batch size of a recipe run: --bs, or the preset's. */
export function recipeBatchSize(options: ParsedOptions, given: ReadonlySet<string>): number {
  return given.has('bs') ? (options.bs as number) : PRESETS[presetOf(options)].batchSize;
}

/** The overrides that the given flags make. */
export function recipeOverrides(options: ParsedOptions, given: ReadonlySet<string>): RecipeOverrides {
  if (options.flip && options['no-flip']) throw new UsageError('--flip and --no-flip contradict each other; give one');
  let timeSeconds: number | undefined;
  if (given.has('time')) {
    try { timeSeconds = parseDuration(String(options.time)); } catch (error) { throw new UsageError(`--time: ${(error as Error).message}`); }
  }
  return {
    epochs: given.has('epochs') ? (options.epochs as number) : undefined,
    timeSeconds,
    batchSize: given.has('bs') ? (options.bs as number) : undefined,
    lr: given.has('lr') ? (options.lr as number) : undefined,
    weightDecay: options.wd as number | undefined,
    labelSmoothing: options['label-smoothing'] as number | undefined,
    augment: options['no-augment'] ? false : undefined,
    flip: options.flip ? true : options['no-flip'] ? false : undefined,
    tta: options['no-tta'] ? false : undefined,
    schedule: given.has('schedule') ? String(options.schedule) : undefined,
  };
}

/** A recipe run, ready for a Learner. */
export interface RecipeSetup {
  recipe: Recipe;
  model: Module;
  /** The model bundle's architecture entry. */
  architecture: { name: string; options: Record<string, unknown> };
  /** Training batches, augmented as the recipe says. */
  train: BatchSource;
  /** Loss, optimizer and lr for the Learner. */
  learnerOptions: Pick<LearnerOptions, 'lossFn' | 'optimizer' | 'lr'>;
  /** The data-based flip measurement (null when flips were decided by a flag or augmentation is off). */
  flipCheck: FlipCheck | null;
}

/** Measures whether flips suit the training data, leaving the loader where it was. */
async function measureFlips(train: BatchSource, numClasses: number): Promise<FlipCheck> {
  if (train instanceof DataLoader) return flipCheckDataset(train.dataset);
  const stateful = train as BatchSource & { getState?(): unknown; setState?(state: unknown): void };
  const state = stateful.getState?.();
  try {
    return await flipCheckSource(train, numClasses, { samples: 1000 });
  } finally {
    if (state !== undefined) stateful.setState?.(state);
  }
}

/**
 * Builds the recipe for `data` from the flags: measures flips on the training data (unless a flag
 * decides), builds the model (the recipe's, or --model's when --preset is given too), wraps the
 * training batches in the recipe's augmentation and prints every choice.
 */
export async function setUpRecipe(data: OpenedDataset, options: ParsedOptions, given: ReadonlySet<string>, seed: number): Promise<RecipeSetup> {
  const overrides = recipeOverrides(options, given);
  const measured = overrides.augment === false || overrides.flip !== undefined ? null : await measureFlips(data.train, data.classes.length);
  const recipe = smallImageRecipe({ inputShape: data.inputShape, numClasses: data.classes.length, flipCheck: measured }, presetOf(options), overrides);
  const [channels, height, width] = data.inputShape;
  let model: Module;
  let architecture: RecipeSetup['architecture'] = recipe.architecture;
  if (given.has('model')) {
    const name = String(options.model);
    const factory = defaultArchitectures[name];
    if (!factory) throw new UsageError(`unknown model '${name}'`);
    architecture = { name, options: { numClasses: data.classes.length, input: { channels, height, width } } };
    model = factory(architecture.options);
    recipe.overridden.push('model');
  } else {
    model = recipeModel(recipe);
  }
  // NOTE: its own generator, seeded apart from the shuffling one (also sfc32 from `seed`) so their draws are unrelated.
  const augmentSeed = (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) >>> 0);
  const augment = new BatchAugment(recipeAugment(recipe, data.normalize, augmentSeed));
  const train = augment.active ? new AugmentedLoader(data.train, augment) : data.train;
  if (Math.max(height, width) > 64 && !given.has('model')) {
    console.log(`kestrel: note: the recipe is made for images of 28-64 px; these are ${height}x${width} (try --model resnet18 --preset ${recipe.preset})`);
  }
  for (const line of describeRecipe(recipe)) console.log(`kestrel: ${line}`);
  if (given.has('model')) console.log(`kestrel:   model ${architecture.name} (--model), ${model.numParameters().toLocaleString('en-US')} parameters`);
  return {
    recipe, model, architecture, train, flipCheck: measured,
    learnerOptions: { lossFn: recipeLoss(recipe), optimizer: recipeOptimizer(recipe), lr: recipe.lr },
  };
}

/** How long a recipe run trains, and how that was decided. */
export interface RunLength {
  epochs: number;
  /** Total iterations when the plan ends part-way through the last epoch. */
  iterations?: number;
  /** The time plan and the warm-up it came from (absent for a fixed number of epochs). */
  plan?: FitPlan & { budgetSeconds: number; speed: SpeedMeasurement; replans: TimeKeeperChange[] };
}

/**
 * The run's length: the recipe's epochs, or, with a time budget, a plan from a measured warm-up
 * (training steps and validation batches on this machine, then undone). Prints how it planned.
 */
export async function planRunLength(learn: Learner, recipe: Recipe): Promise<RunLength> {
  if (recipe.timeSeconds === null) return { epochs: recipe.epochs ?? 1 };
  const budgetSeconds = recipe.timeSeconds;
  // NOTE: the warm-up times at least 8 batches and 2 s, or 0.5% of a short budget.
  const speed = await measureSpeed(learn, { lr: recipe.lr / 25, minSeconds: Math.min(2, budgetSeconds * 0.005) });
  const train = learn.data.train;
  const plan = planFit({
    budgetSeconds, elapsedSeconds: process.uptime(), batchesPerEpoch: train.length, trainSamples: train.numSamples,
    validSamples: learn.data.valid?.numSamples ?? 0, trainSamplesPerSecond: speed.trainSamplesPerSecond,
    validSamplesPerSecond: speed.validSamplesPerSecond, finalPasses: recipe.tta ? 2 : 1, maxEpochs: recipe.epochs ?? undefined,
  });
  const n = (v: number) => Math.round(v).toLocaleString('en-US');
  console.log(`kestrel: plan: a warm-up of ${speed.trainBatches} training and ${speed.validBatches} validation batches (${speed.seconds.toFixed(1)} s, undone) measured `
    + `${n(speed.trainSamplesPerSecond)} training and ${n(speed.validSamplesPerSecond)} validation images/s; an epoch with validation takes ~${plan.epochSeconds.toFixed(1)} s`);
  console.log(`kestrel: plan: ${process.uptime().toFixed(1)} s spent so far, ${plan.finalSeconds.toFixed(1)} s kept for the final evaluation and saving, 3% margin -> `
    + `${plan.fractionalEpochs.toFixed(2)} epochs (${n(plan.iterations)} iterations)${plan.limitedBy === 'epochs' ? `, the preset's ${recipe.epochs}` : ''}; `
    + `expected to end after ${formatSeconds(plan.expectedSeconds)} of the ${formatSeconds(budgetSeconds)} budget`);
  const partial = plan.iterations % train.length !== 0;
  return { epochs: plan.epochs, ...(partial ? { iterations: plan.iterations } : {}), plan: { ...plan, budgetSeconds, speed, replans: [] } };
}

/** The final evaluation of a recipe run: flip-TTA when the recipe says so, with per-class results. */
export async function finalEvaluation(learn: Learner, valid: BatchSource, classes: string[], useTta: boolean): Promise<{ accuracy: number; tta: boolean } & Record<string, unknown>> {
  const matrix = confusionMatrix();
  const { probs, targets } = useTta ? await tta(learn, valid, { flips: true }) : await learn.getPreds(valid);
  let accuracy: number;
  try {
    matrix.accumulate(probs, targets);
    accuracy = tidy(() => probs.argmax(1).eq(targets).float().mean().item());
  } finally {
    dispose([probs, targets]);
  }
  return { accuracy, tta: useTta, ...perClassFromMatrix(matrix, classes) };
}
