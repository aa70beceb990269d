/** `kestrel evaluate`: load a saved model bundle and report test accuracy on a dataset. */
import { resolve } from 'node:path';
import { Learner, accuracy } from '../learn/index.js';
import { loadModel } from '../io/index.js';
import { type CommandSpec, commandHelp, parseCommand } from './args.js';
import { openDataset } from './dataset-arg.js';

/** The command's options. */
export const evaluateSpec: CommandSpec = {
  name: 'evaluate',
  summary: "print a saved model's loss and accuracy on a dataset's test split",
  positionals: [
    { name: 'dir', description: 'directory written by kestrel train (model.json + model.safetensors)' },
    { name: 'dataset', description: "'sample' (default), 'fashion-mnist', or a directory of IDX files", optional: true },
  ],
  options: {
    bs: { type: 'integer', description: 'batch size', default: 256, min: 1 },
    precision: { type: 'string', description: "fp32 (default) or bf16 (what kestrel train's validation used after bf16 training)", default: 'fp32', choices: ['fp32', 'bf16'] },
  },
};

/** Evaluates; resolves to the exit code. */
export async function runEvaluate(argv: string[]): Promise<number> {
  const { positionals, options } = parseCommand(evaluateSpec, argv);
  if (options.help) { console.log(commandHelp(evaluateSpec)); return 0; }
  const dir = resolve(positionals[0]);
  const { model, manifest } = loadModel(dir);
  const data = await openDataset(positionals[1] ?? 'sample', {
    batchSize: options.bs as number, seed: 0, size: manifest.inputShape[1], normalize: manifest.normalize ?? undefined,
  });
  const expected = manifest.inputShape.join('x');
  if (data.inputShape.join('x') !== expected) {
    throw new Error(`${dir}: the model expects ${expected} inputs but ${data.description} has ${data.inputShape.join('x')}`);
  }
  if (data.classes.length !== manifest.classes.length) {
    throw new Error(`${dir}: the model has ${manifest.classes.length} classes but ${data.description} has ${data.classes.length}`);
  }
  const inference = { precision: String(options.precision) as 'fp32' | 'bf16' };
  const learn = new Learner(model, { train: data.valid }, { metrics: [accuracy()], progress: false, inference });
  try {
    const result = await learn.evaluate(data.valid);
    console.log(`${data.description}: test accuracy ${(100 * result.metrics.accuracy).toFixed(2)}%, loss ${result.loss.toFixed(4)} (${data.valid.numSamples} images${inference.precision === 'fp32' ? '' : `, ${inference.precision}`})`);
  } finally {
    await data.close();
  }
  return 0;
}
