/**
 * "Transfer pays" (issue 8): on a few Fashion-MNIST images per class (grey repeated to RGB,
 * resized to `size` px, pixels / 255 like nsfwjs), the nsfwjs MobileNetV2 backbone (a Keras
 * ImageNet network, imported from TF.js) with fastai's recipe (visionLearner: body cut at
 * `out_relu`, fastai's head, fineTune: one frozen epoch then unfrozen with lrSlice) against the
 * same graph and head from random weights trained with one-cycle for the same number of epochs.
 * Accuracy on `test` Fashion-MNIST test images (the first test/10 of each class), per seed
 * (each seed draws its own training images and initialisation).
 *
 *   npx tsc -p . && node dist/bench/transfer.js [--perClass 20] [--size 64] [--epochs 4] [--freezeEpochs 1]
 *     [--seeds 3] [--test 1000] [--batch 16] [--lr 2e-3] [--scratchLr 2e-3] [--bnMomentum 0.1] [--cut out_relu] [--write]
 *
 * `--bnMomentum` (PyTorch's sense, default 0.1 as in torchvision/fastai) is set on every batch norm
 * of both networks; 0 keeps the imported Keras value (0.99 moving average = 0.01), with which the
 * running statistics lag far behind the batch statistics that fastai's train_bn trains with.
 *
 * `--cut LAYER` cuts both networks at another Keras layer (default out_relu, fastai's cut). NOTE: a
 * linear probe (logistic regression on globally pooled eval-mode features, 20 images per class)
 * found nsfwjs's last blocks specialised: at 64 px, out_relu gives 55% (random weights: 68%),
 * block_13_expand_relu 77% (random: 70%), block_6_expand_relu 75% (random: 63%).
 *
 * `--write` replaces the "Transfer pays" section of BENCHMARKS.md. A tiny run to check it works:
 * `node dist/bench/transfer.js --perClass 2 --size 32 --epochs 1 --seeds 1 --test 100`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Tensor, manualSeed, noGrad, op, runtimeInfo, tensor, tidy } from '../src/tensor/index.js';
import { DataLoader, TensorDataset, loadFashionMnist } from '../src/data/index.js';
import type { Learner } from '../src/learn/index.js';
import { visionLearner } from '../src/vision/index.js';
import { loadTfjsModel, tfjs } from '../src/io/index.js';
import { writeSection } from './common.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MODEL_JSON = join(ROOT, 'test', 'fixtures', 'nsfwjs', 'mobilenet_v2', 'model.json');
const SECTION = '## Transfer pays (nsfwjs MobileNetV2, Fashion-MNIST)';
/** Keras's MobileNetV2 body ends at out_relu (before the nsfwjs head's pooling and dense layers). */
const BODY_OUTPUT = 'out_relu';

interface Options {
  perClass: number; size: number; epochs: number; freezeEpochs: number; seeds: number; test: number;
  batch: number; lr: number; scratchLr: number; bnMomentum: number; write: boolean; cut: string;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { perClass: 20, size: 64, epochs: 4, freezeEpochs: 1, seeds: 3, test: 1000, batch: 16, lr: 2e-3, scratchLr: 2e-3, bnMomentum: 0.1, write: false, cut: BODY_OUTPUT };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const name = flag.slice(2);
    if (flag === '--write') { options.write = true; continue; }
    if (flag === '--cut') { options.cut = inline ?? argv[++i]; continue; }
    if (!flag.startsWith('--') || !(name in options)) throw new Error(`bench/transfer.ts: unknown flag ${argv[i]} (known: ${Object.keys(options).map((k) => `--${k}`).join(', ')})`);
    const value = Number(inline ?? argv[++i]);
    if (!Number.isFinite(value) || value < 0) throw new Error(`bench/transfer.ts: ${flag} needs a non-negative number, got ${inline ?? argv[i]}`);
    (options as unknown as Record<string, number>)[name] = value;
  }
  for (const key of ['perClass', 'size', 'epochs', 'seeds', 'test', 'batch'] as const) {
    if (!Number.isInteger(options[key]) || options[key] < 1) throw new Error(`bench/transfer.ts: --${key} must be a positive integer, got ${options[key]}`);
  }
  return options;
}

/** The nsfwjs fixture, extracted from node_modules first when missing. */
function ensureModelJson(): string {
  if (existsSync(MODEL_JSON)) return MODEL_JSON;
  console.log(`extracting nsfwjs's MobileNetV2 to ${MODEL_JSON} (node scripts/extract-nsfwjs.mjs)`);
  try {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'extract-nsfwjs.mjs')], { stdio: 'inherit' });
  } catch (error) {
    throw new Error(`bench/transfer.ts: could not extract the fixture; run 'npm install && node scripts/extract-nsfwjs.mjs' in ${ROOT} (${(error as Error).message})`, { cause: error });
  }
  return MODEL_JSON;
}

/** `perClass` indices of each class: a seeded random draw, or the first ones when `seed` is null. */
function pickPerClass(labels: Tensor, perClass: number, classes: number, seed: number | null): Int32Array {
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  const values = labels.toArray();
  for (let i = 0; i < values.length; i++) byClass[Number(values[i])].push(i);
  let state = (seed ?? 0) * 2654435761 + 1;
  const random = (): number => { state = (state * 1103515245 + 12345) % 2 ** 31; return state / 2 ** 31; };
  const picked: number[] = [];
  for (const [c, indices] of byClass.entries()) {
    if (indices.length < perClass) throw new Error(`bench/transfer.ts: class ${c} has only ${indices.length} images, asked for ${perClass}`);
    if (seed !== null) {
      for (let i = indices.length - 1; i > 0; i--) { const j = Math.floor(random() * (i + 1)); [indices[i], indices[j]] = [indices[j], indices[i]]; }
    }
    picked.push(...indices.slice(0, perClass));
  }
  return Int32Array.from(picked.sort((a, b) => a - b));
}

/** The chosen images as RGB floats in [0, 1] at size x size (bilinear), with their labels and the class names. */
function rgbSubset(source: TensorDataset, indices: Int32Array, size: number): TensorDataset {
  const x = tidy(() => {
    const index = tensor(indices, [indices.length]).long();
    const grey = source.images.indexSelect(0, index).float().div(255);
    const resized = noGrad(() => op('aten::upsample_bilinear2d', '', [grey.handle, [size, size], false, null, null]));
    // NOTE: nsfwjs's network takes RGB; a grey image is the same value in all three channels.
    return resized.expand(-1, 3, -1, -1).contiguous();
  });
  const y = tidy(() => source.labels.indexSelect(0, tensor(indices, [indices.length]).long()));
  return new TensorDataset(x, y, { classes: source.classes });
}

/** Prints one line per epoch of a fit. */
function epochLogger(label: string): { afterEpoch: (learn: Learner) => void } {
  return {
    afterEpoch: (learn) => {
      const r = learn.history[learn.history.length - 1];
      console.log(`  ${label} epoch ${learn.history.length}: train loss ${r.trainLoss.toFixed(3)} (${r.seconds.toFixed(0)} s)`);
    },
  };
}

/** One seed: the pretrained backbone fine-tuned, then the same graph from random weights; final accuracies (%). */
async function runSeed(o: Options, seed: number, trainSet: TensorDataset, testSet: TensorDataset): Promise<{ pretrained: number; scratch: number }> {
  const modelJson = ensureModelJson();
  const inputShape = [3, o.size, o.size];
  // NOTE: the test images are scored once after training, not after every epoch: with 1000 test
  // images against 200 training ones, per-epoch validation would be most of the run time.
  const data = (): { train: DataLoader } => ({ train: new DataLoader(trainSet, { batchSize: o.batch, shuffle: true, seed }) });
  const testAccuracy = async (learn: Learner): Promise<number> => 100 * (await learn.evaluate(new DataLoader(testSet, { batchSize: 100 }))).metrics.accuracy;
  // NOTE: Keras's 0.99 moving average is PyTorch's 0.01 momentum: with a few dozen steps the running statistics stay
  // near their initial values and eval-mode accuracy says little; visionLearner's bnMomentum sets the body's.
  const common = { nOut: trainSet.classes.length, progress: false as const, seed, ...(o.bnMomentum > 0 ? { bnMomentum: o.bnMomentum } : {}) };

  manualSeed(seed);
  const imported = loadTfjsModel(modelJson, { outputs: [o.cut], inputShape });
  const pre = visionLearner(data(), imported.model, common);
  const preLog = epochLogger(`seed ${seed} pretrained`);
  pre.addCallback(preLog);
  await pre.fineTune(o.epochs, o.lr, { freezeEpochs: o.freezeEpochs });
  const pretrained = await testAccuracy(pre);
  pre.model.dispose();

  manualSeed(seed);
  // NOTE: the same Keras topology built without loading weights: Kestrel's default initialisation (PyTorch's).
  const random = tfjs.buildKerasGraph(tfjs.parseKerasTopology(imported.topology), { outputs: [o.cut], inputShape }).model;
  random.train();
  const scratch = visionLearner(data(), random, { ...common, freeze: false });
  scratch.addCallback(epochLogger(`seed ${seed} scratch`));
  await scratch.fitOneCycle(o.freezeEpochs + o.epochs, o.scratchLr);
  const fromScratch = await testAccuracy(scratch);
  scratch.model.dispose();
  return { pretrained, scratch: fromScratch };
}

const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
/** Sample standard deviation (0 for one value). */
const sd = (v: number[]): number => (v.length < 2 ? 0 : Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / (v.length - 1)));
const cell = (v: number[]): string => `${mean(v).toFixed(1)} ± ${sd(v).toFixed(1)}`;

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  ensureModelJson();
  const started = performance.now();
  const train = loadFashionMnist({ split: 'train' });
  const test = loadFashionMnist({ split: 'test' });
  const classes = train.classes.length;
  const testSet = rgbSubset(test, pickPerClass(test.labels, Math.floor(o.test / classes), classes, null), o.size);
  console.log(`Fashion-MNIST: ${o.perClass} training images per class, ${testSet.length} test images, ${o.size} px RGB; `
    + `${o.freezeEpochs}+${o.epochs} epochs, batch ${o.batch}, ${runtimeInfo().threads} threads`);
  const rows: { seed: number; pretrained: number; scratch: number }[] = [];
  for (let s = 0; s < o.seeds; s++) {
    const trainSet = rgbSubset(train, pickPerClass(train.labels, o.perClass, classes, s), o.size);
    const result = await runSeed(o, s, trainSet, testSet);
    trainSet.images.dispose(); trainSet.labels.dispose();
    rows.push({ seed: s, ...result });
    console.log(`seed ${s}: pretrained + fineTune ${result.pretrained.toFixed(1)}%, scratch ${result.scratch.toFixed(1)}%, `
      + `difference ${(result.pretrained - result.scratch).toFixed(1)} points (${((performance.now() - started) / 60000).toFixed(1)} min so far)`);
  }
  const pre = rows.map((r) => r.pretrained);
  const scr = rows.map((r) => r.scratch);
  const diff = rows.map((r) => r.pretrained - r.scratch);
  const command = `node dist/bench/transfer.js ${process.argv.slice(2).filter((a) => a !== '--write').join(' ')}`.trimEnd();
  // NOTE: a run at another cut gets a section of its own, so both tables stay in BENCHMARKS.md.
  const heading = o.cut === BODY_OUTPUT ? SECTION : `## Transfer pays (nsfwjs MobileNetV2 cut at ${o.cut}, Fashion-MNIST)`;
  const text = [
    heading, '',
    `\`${command}\`: ${o.perClass} Fashion-MNIST training images per class (a different draw per seed), grey repeated to RGB, `
      + `resized to ${o.size}x${o.size} (bilinear), pixels / 255 (nsfwjs's preprocessing), batch ${o.batch}; accuracy on ${testSet.length} test images `
      + `(the first ${testSet.length / classes} of each class), mean ± standard deviation over ${o.seeds} seed${o.seeds > 1 ? 's' : ''}. `
      + `Pretrained: nsfwjs's MobileNetV2 (\`loadTfjsModel\`, cut at \`${o.cut}\`) in \`visionLearner\` (fastai head, body frozen) + `
      + `\`fineTune(${o.epochs}, ${o.lr})\` (${o.freezeEpochs} frozen epoch${o.freezeEpochs === 1 ? '' : 's'}, then ${o.epochs} unfrozen, lrSlice(${o.lr / 200}, ${o.lr / 2})). `
      + `Scratch: the same Keras graph and head with random weights, \`fitOneCycle(${o.freezeEpochs + o.epochs}, ${o.scratchLr})\`, all layers trainable. `
      + `Batch-norm momentum: ${o.bnMomentum > 0 ? `${o.bnMomentum} (PyTorch's sense) in both` : "Keras's 0.99 (0.01 in PyTorch's sense) as imported"}.`,
    '',
    '| seed | pretrained + fineTune | from scratch | difference (points) |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.seed} | ${r.pretrained.toFixed(1)}% | ${r.scratch.toFixed(1)}% | ${(r.pretrained - r.scratch).toFixed(1)} |`),
    `| **mean ± sd** | **${cell(pre)}%** | **${cell(scr)}%** | **${cell(diff)}** |`,
  ].join('\n');
  console.log(`\n${text}`);
  if (o.write) writeSection(join(ROOT, 'BENCHMARKS.md'), heading, text);
}

await main();
