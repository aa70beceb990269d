/** `kestrel interpret RUN_DIR [dataset] --out DIR`: pictures and numbers of what a trained model gets right and wrong. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { dispose } from '../tensor/index.js';
import {
  Interpretation, activationsPicture, classificationReport, confusionMatrixPicture, filtersPicture, gradCam, gradCamPicture, lastSpatialLayer,
  mostPicture, predictionGridPicture, topLossesPicture,
} from '../interpret/index.js';
import { type CommandSpec, commandHelp, parseCommand } from './args.js';
import { openRun } from './run-dir.js';

/** The command's options. */
export const interpretSpec: CommandSpec = {
  name: 'interpret',
  summary: "pictures of a trained model's results: confusion matrix, top losses, predictions, most (in)correct/uncertain, filters, Grad-CAM",
  positionals: [
    { name: 'run', description: 'directory written by kestrel train' },
    { name: 'dataset', description: "dataset to interpret on (default: the run's own; its validation/test split)", optional: true },
  ],
  options: {
    out: { type: 'string', description: 'output directory', default: 'interpret' },
    k: { type: 'integer', description: 'top losses shown', default: 9, min: 1 },
    'min-count': { type: 'integer', description: 'smallest count listed by most-confused', default: 2, min: 1 },
    bs: { type: 'integer', description: 'batch size', default: 256, min: 1 },
  },
};

/** Everything `interpret` computes, also written as interpretation.json. */
export async function interpretRun(interp: Interpretation, options: { k: number; minCount: number }): Promise<{ files: Record<string, Buffer | string>; summary: Record<string, unknown> }> {
  const files: Record<string, Buffer | string> = {};
  files['confusion-matrix.png'] = await confusionMatrixPicture(interp);
  files['confusion-matrix-normalized.png'] = await confusionMatrixPicture(interp, { normalize: true });
  files['top-losses.png'] = await topLossesPicture(interp, { k: options.k });
  files['predictions.png'] = await predictionGridPicture(interp);
  for (const kind of ['correct', 'incorrect', 'uncertain'] as const) files[`most-${kind}.png`] = await mostPicture(interp, kind);
  const top = interp.topLosses(options.k);
  const first = await interp.fetch(top.map((t) => t.index));
  try {
    const layer = lastSpatialLayer(interp.model, first.x);
    files['filters.png'] = await filtersPicture(interp.model);
    files['activations.png'] = await activationsPicture(interp.model, first.x, layer);
    const cam = gradCam(interp.model, first.x, { layer });
    try {
      files['gradcam-top-losses.png'] = await gradCamPicture(first.x, cam, { classes: interp.classes, normalization: interp.normalization, names: interp.names(top.map((t) => t.index)) });
    } finally {
      dispose([cam.heatmap, cam.cam]);
    }
  } catch (error) {
    // NOTE: a model without convolutions (mlp) has no filters, feature maps or Grad-CAM; everything else still applies.
    if (!/no convolution|no layer with a spatial/.test((error as Error).message)) throw error;
  } finally {
    dispose(first);
  }
  const names = interp.names(top.map((t) => t.index));
  const summary = {
    items: interp.length, accuracy: interp.accuracy, loss: interp.loss, classes: interp.classes,
    confusionMatrix: interp.confusionMatrix(), perClass: interp.perClass(), mostConfused: interp.mostConfused(options.minCount),
    topLosses: top.map((t, i) => ({ ...t, name: names[i], actualClass: interp.classes[t.actual], predictedClass: interp.classes[t.predicted] })),
  };
  files['interpretation.json'] = JSON.stringify(summary, null, 1) + '\n';
  files['classification-report.txt'] = classificationReport(interp) + '\n';
  return { files, summary };
}

/** Runs the command; resolves to the exit code. */
export async function runInterpret(argv: string[]): Promise<number> {
  const { positionals, options } = parseCommand(interpretSpec, argv);
  if (options.help) { console.log(commandHelp(interpretSpec)); return 0; }
  const run = await openRun(positionals[0], positionals[1], { batchSize: options.bs as number });
  try {
    console.log(`kestrel: interpreting ${run.dir} on ${run.data.description}`);
    const interp = await Interpretation.fromModel(run.model, run.data.valid, { classes: run.manifest.classes });
    const { files, summary } = await interpretRun(interp, { k: options.k as number, minCount: options['min-count'] as number });
    // NOTE: everything is computed before anything is written, so a failure leaves no partial output.
    const out = resolve(String(options.out));
    mkdirSync(out, { recursive: true });
    for (const [name, content] of Object.entries(files)) writeFileSync(join(out, name), content);
    console.log(`accuracy ${(100 * interp.accuracy).toFixed(2)}%, loss ${interp.loss.toFixed(4)} on ${interp.length} images\n`);
    console.log(files['classification-report.txt']);
    const confused = summary.mostConfused as { actual: string; predicted: string; count: number }[];
    if (confused.length) console.log(`most confused (actual -> predicted: count):\n${confused.slice(0, 10).map((c) => `  ${c.actual} -> ${c.predicted}: ${c.count}`).join('\n')}\n`);
    console.log(`wrote ${Object.keys(files).length} files to ${out}`);
    return 0;
  } finally {
    await run.close();
  }
}
