/** `kestrel predict`: class predictions for images from one or more saved models, as lines, JSON or a Kaggle CSV. */
import { existsSync, statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { listImageFiles, writePredictionsCsv } from '../data/index.js';
import { type Classifier, Ensemble, type LoadedModel, type Prediction, loadModel } from '../io/index.js';
import { type CommandSpec, UsageError, commandHelp, parseCommand } from './args.js';

/** The command's options. */
export const predictSpec: CommandSpec = {
  name: 'predict',
  summary: 'predict the classes of images with saved models (several DIRs: an ensemble averaging probabilities)',
  positionals: [
    { name: 'dir', description: 'model bundle directory (model.json + model.safetensors); give several for an ensemble', variadic: true },
    { name: 'images', description: 'an image file or a folder of images (searched recursively)' },
  ],
  options: {
    tta: { type: 'boolean', description: 'average over flipped views (test-time augmentation)' },
    'top-k': { type: 'integer', description: 'classes listed per image', default: 1, min: 1 },
    json: { type: 'boolean', description: 'print [{"file","label","probabilities":[...]}] (probabilities in the bundle\'s class order)' },
    csv: { type: 'string', description: 'write a Kaggle submission: id,label rows (id = file name without extension), sorted by id' },
    'csv-prob': { type: 'string', description: "with --csv: write this class's probability instead of the label (e.g. dog, for Dogs vs. Cats)" },
    bs: { type: 'integer', description: 'images per forward pass', default: 64, min: 1 },
  },
};

async function imageList(target: string): Promise<string[]> {
  if (!existsSync(target)) throw new UsageError(`no such image or folder: ${target}`);
  if (!statSync(target).isDirectory()) return [target];
  const files = await listImageFiles(target);
  if (files.length === 0) throw new Error(`${target}: no image files found (looked for .jpg, .jpeg, .png, .webp, .gif, .tif, .tiff)`);
  return files;
}

/** Kaggle rows: id = file name without extension, sorted numerically when every id is a number. */
export function submissionRows(predictions: Prediction[], value: (p: Prediction) => string): { ids: string[]; values: string[] } {
  const rows = predictions.map((p) => ({ id: basename(p.input, extname(p.input)), value: value(p) }));
  const numeric = rows.every((r) => /^\d+$/.test(r.id));
  rows.sort((a, b) => (numeric ? Number(a.id) - Number(b.id) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { ids: rows.map((r) => r.id), values: rows.map((r) => r.value) };
}

/** Predicts; resolves to the exit code. */
export async function runPredict(argv: string[]): Promise<number> {
  const { positionals, options } = parseCommand(predictSpec, argv);
  if (options.help) { console.log(commandHelp(predictSpec)); return 0; }
  if (positionals.length < 2) throw new UsageError('kestrel predict needs at least one model DIR and an image or folder');
  const dirs = positionals.slice(0, -1).map((d) => resolve(d));
  const target = positionals[positionals.length - 1];
  const csvProb = options['csv-prob'] as string | undefined;
  if (csvProb !== undefined && options.csv === undefined) throw new UsageError('--csv-prob needs --csv FILE');
  const files = await imageList(target);
  const models: LoadedModel[] = [];
  try {
    for (const dir of dirs) models.push(loadModel(dir));
    const classifier: Classifier = models.length === 1 ? models[0] : new Ensemble(models);
    const probIndex = csvProb === undefined ? -1 : classifier.classes.indexOf(csvProb);
    if (csvProb !== undefined && probIndex < 0) throw new UsageError(`--csv-prob: no class '${csvProb}' in the model (classes: ${classifier.classes.join(', ')})`);
    const { predictions, failed } = await classifier.predict(files, { tta: Boolean(options.tta), topK: options['top-k'] as number, batchSize: options.bs as number });
    for (const f of failed) console.error(`kestrel: skipped ${f.file}: ${f.reason}`);
    if (predictions.length === 0) throw new Error(`no image could be read (${failed.length} of ${files.length} failed)`);
    if (options.json) {
      console.log(JSON.stringify(predictions.map((p) => ({ file: p.input, label: p.label, probabilities: p.probabilities })), null, 1));
    } else {
      for (const p of predictions) console.log(`${p.input}\t${p.top.map((t) => `${t.label} ${t.probability.toFixed(4)}`).join('\t')}`);
    }
    if (options.csv !== undefined) {
      const value = probIndex >= 0 ? (p: Prediction) => String(p.probabilities[probIndex]) : (p: Prediction) => p.label;
      const path = resolve(String(options.csv));
      const { ids, values } = submissionRows(predictions, value);
      writePredictionsCsv(path, ids, values, { header: ['id', 'label'] });
      console.error(`kestrel: wrote ${predictions.length} rows to ${path}`);
    }
    if (failed.length > 0) console.error(`kestrel: predicted ${predictions.length} of ${files.length} images; ${failed.length} could not be read`);
    return 0;
  } finally {
    for (const m of models) m.dispose();
  }
}
