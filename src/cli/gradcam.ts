/** `kestrel gradcam RUN_DIR <image|folder> [--layer NAME] [--class NAME] --out DIR`: where a trained model looks. */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { dispose, tensor, tidy } from '../tensor/index.js';
import { type DecodedImage, listImageFiles, loadImageSample, validTransforms } from '../data/index.js';
import { resolveDecodeOptions } from '../data/image/decode.js';
import { gradCam, gradCamPicture } from '../interpret/index.js';
import { loadModel } from '../io/index.js';
import { type CommandSpec, UsageError, commandHelp, parseCommand } from './args.js';

/** The command's options. */
export const gradcamSpec: CommandSpec = {
  name: 'gradcam',
  summary: 'Grad-CAM heatmaps: which parts of each image made a trained model decide',
  positionals: [
    { name: 'run', description: 'directory written by kestrel train' },
    { name: 'images', description: 'an image file or a folder of images' },
  ],
  options: {
    layer: { type: 'string', description: 'layer to explain (default: the last with a spatial output)' },
    class: { type: 'string', description: 'class to explain (default: each image\'s predicted class)' },
    out: { type: 'string', description: 'output directory', default: 'gradcam' },
    max: { type: 'integer', description: 'most images read from a folder', default: 64, min: 1 },
  },
};

/** Runs the command; resolves to the exit code. */
export async function runGradcam(argv: string[]): Promise<number> {
  const { positionals, options } = parseCommand(gradcamSpec, argv);
  if (options.help) { console.log(commandHelp(gradcamSpec)); return 0; }
  const [runDir, input] = positionals;
  if (!existsSync(input)) throw new UsageError(`no such image or folder: ${input}`);
  const files = statSync(input).isDirectory() ? (await listImageFiles(input)).slice(0, options.max as number) : [resolve(input)];
  if (files.length === 0) throw new UsageError(`${input} holds no images (${['.jpg', '.png', '...'].join(', ')})`);
  const { model, manifest } = loadModel(resolve(runDir));
  try {
    let classIndex: number | undefined;
    if (options.class !== undefined) {
      classIndex = manifest.classes.indexOf(String(options.class));
      if (classIndex < 0) throw new UsageError(`--class '${String(options.class)}' is not a class of this model (${manifest.classes.join(', ')})`);
    }
    const [channels, height, width] = manifest.inputShape;
    const decode = resolveDecodeOptions({ channels: channels as 1 | 3 });
    const pixels: DecodedImage[] = [];
    for (const [index, file] of files.entries()) {
      // NOTE: the model's own validation geometry (resize the short side, centre crop) and normalisation.
      pixels.push(await loadImageSample(file, { ...validTransforms(height), size: [height, width] }, decode, { seed: 0, epoch: 0, index }));
    }
    const stats = manifest.normalize ?? { mean: new Array<number>(channels).fill(0), std: new Array<number>(channels).fill(1) };
    const x = tidy(() => {
      const raw = new Float32Array(files.length * channels * height * width);
      pixels.forEach((p, i) => {
        for (let c = 0; c < channels; c++) for (let k = 0; k < height * width; k++) raw[((i * channels + c) * height * width) + k] = (p.data[k * channels + c] / 255 - stats.mean[c]) / stats.std[c];
      });
      return tensor(raw, [files.length, channels, height, width]);
    });
    try {
      const result = gradCam(model, x, { layer: options.layer as string | undefined, classIndex });
      try {
        const names = files.map((f) => basename(f));
        const out = resolve(String(options.out));
        const pictures: [string, Buffer][] = [['gradcam.png', await gradCamPicture(x, result, { classes: manifest.classes, normalization: manifest.normalize, names })]];
        for (let i = 0; i < files.length && files.length > 1; i++) {
          const one = { ...result, heatmap: result.heatmap.slice(0, i, i + 1), predicted: [result.predicted[i]], probabilities: [result.probabilities[i]], classIndices: [result.classIndices[i]] };
          const xi = x.slice(0, i, i + 1);
          try {
            pictures.push([`${basename(files[i], extname(files[i]))}.gradcam.png`, await gradCamPicture(xi, one, { classes: manifest.classes, normalization: manifest.normalize, names: [names[i]], pairs: 1 })]);
          } finally {
            dispose([xi, one.heatmap]);
          }
        }
        mkdirSync(out, { recursive: true });
        for (const [name, png] of pictures) writeFileSync(join(out, name), png);
        const rows = files.map((f, i) => ({ file: f, predicted: manifest.classes[result.predicted[i]], probability: result.probabilities[i], explained: manifest.classes[result.classIndices[i]] }));
        writeFileSync(join(out, 'gradcam.json'), JSON.stringify({ layer: result.layer, images: rows }, null, 1) + '\n');
        for (const r of rows) console.log(`${basename(r.file)}: predicted ${r.predicted} (${r.probability.toFixed(3)}), heatmap for ${r.explained}`);
        console.log(`layer ${result.layer}; wrote ${pictures.length} picture(s) and gradcam.json to ${out}`);
      } finally {
        dispose([result.heatmap, result.cam]);
      }
    } finally {
      x.dispose();
    }
    return 0;
  } finally {
    model.dispose();
  }
}
