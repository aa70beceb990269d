/** `kestrel lr-find`: sweep the learning rate, print fastai's suggestions, plot loss against lr. */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { manualSeed, setNumThreads } from '../tensor/index.js';
import { Learner, PRECISIONS } from '../learn/index.js';
import { plotLrFind, plotLrSchedule } from '../interpret/index.js';
import { defaultArchitectures } from '../io/index.js';
import { type CommandSpec, UsageError, commandHelp, parseCommand } from './args.js';
import { openDataset } from './dataset-arg.js';
import { checkPrecisionFlag } from './fit-plan.js';

/** The command's options. */
export const lrFindSpec: CommandSpec = {
  name: 'lr-find',
  summary: 'find a good learning rate: exponential sweep, suggestions, and plots of loss against lr',
  positionals: [{ name: 'dataset', description: "as for kestrel train (default 'sample')", optional: true }],
  options: {
    model: { type: 'string', description: 'architecture', default: 'mnist-cnn', choices: Object.keys(defaultArchitectures) },
    bs: { type: 'integer', description: 'batch size', default: 64, min: 1 },
    seed: { type: 'integer', description: 'random seed', default: 42, min: 0 },
    'start-lr': { type: 'number', description: 'first lr of the sweep', default: 1e-7, min: 0 },
    'end-lr': { type: 'number', description: 'last lr of the sweep', default: 10, min: 0 },
    iterations: { type: 'integer', description: 'batches in the sweep', default: 100, min: 5 },
    size: { type: 'integer', description: 'image side in pixels (image folders)', default: 64, min: 8 },
    threads: { type: 'integer', description: 'libtorch threads (default: all cores)', min: 1 },
    out: { type: 'string', description: 'directory for lr-find.png and lr-find-schedule.png', default: 'runs/lr-find' },
    precision: { type: 'string', description: 'training precision of the sweep (as for kestrel train)', default: 'auto', choices: PRECISIONS },
  },
};

/** Runs the sweep; resolves to the exit code. */
export async function runLrFind(argv: string[]): Promise<number> {
  const { positionals, options } = parseCommand(lrFindSpec, argv);
  if (options.help) { console.log(commandHelp(lrFindSpec)); return 0; }
  if (options.threads !== undefined) setNumThreads(options.threads as number);
  const precision = checkPrecisionFlag(String(options.precision));
  manualSeed(options.seed as number);
  const factory = defaultArchitectures[String(options.model)];
  if (!factory) throw new UsageError(`unknown model '${String(options.model)}'`);
  const data = await openDataset(positionals[0] ?? 'sample', { batchSize: options.bs as number, seed: options.seed as number, size: options.size as number });
  try {
    const [channels, height, width] = data.inputShape;
    const model = factory({ numClasses: data.classes.length, input: { channels, height, width } });
    const learn = new Learner(model, { train: data.train, valid: data.valid }, { progress: false, precision });
    console.log(`kestrel: precision ${learn.amp.precision}${precision === 'auto' ? ` (auto: ${learn.amp.choice.reason})` : ''}`);
    console.log(`kestrel: lr sweep from ${options['start-lr']} to ${options['end-lr']} over ${options.iterations} batches of ${data.description}`);
    const result = await learn.lrFind({ startLr: options['start-lr'] as number, endLr: options['end-lr'] as number, numIt: options.iterations as number });
    const out = resolve(String(options.out));
    mkdirSync(out, { recursive: true });
    const plot = await plotLrFind(result, join(out, 'lr-find.png'));
    const schedule = await plotLrSchedule(result.lrs, join(out, 'lr-find-schedule.png'), { log: true });
    const { valley, steep, minimum } = result.suggestions;
    console.log(`suggested lr: ${valley.lr.toExponential(2)} (valley); steep ${steep.lr.toExponential(2)}, minimum/10 ${minimum.lr.toExponential(2)}`);
    console.log(`plots: ${plot}, ${schedule}`);
    return 0;
  } finally {
    await data.close();
  }
}
