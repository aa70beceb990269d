/**
 * Predictions from saved models without a Learner: images (paths, bytes or tensors) in, class probabilities
 * out, with the bundle's own resize and normalisation; several models average their probabilities.
 */
import { type Tensor, cat, dispose, keep, noGrad, tensor, tidy } from '../tensor/index.js';
import type { Module } from '../nn/index.js';
import {
  type FailedImage, type ImageSource, type Preprocessing, ImageDataset, ImageLoader, checkPreprocessing, imageName, preprocessImages,
} from '../data/index.js';
import { type TTAOptions, ttaViews } from '../learn/index.js';

/** An image to predict: a file path, encoded bytes, or a tensor already preprocessed ([C, H, W] or [N, C, H, W]). */
export type ImageInput = ImageSource | Tensor;

/** Options of predict() and probabilities(). */
export interface PredictOptions {
  /** Average over flipped views (true), or views chosen by TTAOptions (default false). */
  tta?: boolean | TTAOptions;
  /** Classes listed in `top` (default 5, at most the number of classes). */
  topK?: number;
  /** Images per forward pass (default 64). */
  batchSize?: number;
  /** Worker threads when predicting many files (default: decode in this thread below 64 files). */
  workers?: number;
}

/** The result for one input that could be read. */
export interface Prediction {
  /** Position in the input list. */
  index: number;
  /** The file path, or `image #i` for bytes and tensors. */
  input: string;
  /** Most probable class. */
  label: string;
  /** Its index in `classes`. */
  classIndex: number;
  /** Its probability. */
  probability: number;
  /** Every class's probability, in the model's class order. */
  probabilities: number[];
  /** The `topK` most probable classes, most probable first. */
  top: { label: string; probability: number }[];
}

/** Predictions in input order, plus the inputs that could not be read (each with a reason). */
export interface PredictResults {
  predictions: Prediction[];
  failed: FailedImage[];
}

/** Class probabilities of the readable inputs: a [N, K] tensor (caller disposes) and which inputs they are. */
export interface Probabilities {
  probs: Tensor | null;
  ok: number[];
  failed: FailedImage[];
}

/** Something that turns images into class probabilities: a loaded bundle or an ensemble of them. */
export interface Classifier {
  /** Class names, in output order. */
  readonly classes: string[];
  /** Softmax probabilities of the readable inputs. */
  probabilities(inputs: readonly ImageInput[], options?: PredictOptions): Promise<Probabilities>;
  /** Labelled predictions of the inputs. */
  predict(inputs: ImageInput | readonly ImageInput[], options?: PredictOptions): Promise<PredictResults>;
  /** Frees the weights. */
  dispose(): void;
}

// NOTE: below this many files, decoding in this thread beats starting worker threads.
const WORKER_THRESHOLD = 64;

/** Turns probabilities into labelled predictions (shared by every Classifier). */
export function labelPredictions(classes: string[], inputs: readonly ImageInput[], result: Probabilities, topK = 5): PredictResults {
  const predictions: Prediction[] = [];
  if (result.probs) {
    const k = classes.length;
    const values = result.probs.toArray() as Float32Array;
    result.ok.forEach((index, row) => {
      const probabilities = Array.from(values.subarray(row * k, (row + 1) * k));
      const order = probabilities.map((p, c) => [p, c] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
      const [probability, classIndex] = order[0];
      predictions.push({
        index, input: inputName(inputs[index], index), label: classes[classIndex], classIndex, probability, probabilities,
        top: order.slice(0, Math.max(1, Math.min(topK, k))).map(([p, c]) => ({ label: classes[c], probability: p })),
      });
    });
  }
  return { predictions, failed: result.failed };
}

/** Probabilities of `inputs` from `classifier`, labelled (what every Classifier's predict() does). */
export async function classify(classifier: Classifier, inputs: ImageInput | readonly ImageInput[], options: PredictOptions = {}): Promise<PredictResults> {
  const list = Array.isArray(inputs) ? (inputs as readonly ImageInput[]) : [inputs as ImageInput];
  const result = await classifier.probabilities(list, options);
  try {
    return labelPredictions(classifier.classes, list, result, options.topK);
  } finally {
    result.probs?.dispose();
  }
}

/**
 * The mean of several models' probabilities for the same inputs, over the inputs every one of them could read;
 * an input any of them failed on is failed (first reason kept). The results' tensors stay the caller's.
 */
export function meanProbabilities(results: readonly Probabilities[]): Probabilities {
  const failedBy = new Map<number, FailedImage>();
  for (const r of results) for (const f of r.failed) if (!failedBy.has(f.index)) failedBy.set(f.index, f);
  const failed = [...failedBy.values()].sort((a, b) => a.index - b.index);
  const ok = results.length > 0 && results.every((r) => r.probs) ? results[0].ok.filter((i) => !failedBy.has(i)) : [];
  if (ok.length === 0) return { probs: null, ok, failed };
  const probs = tidy(() => {
    let sum: Tensor | null = null;
    for (const r of results) {
      const rows = new Map(r.ok.map((index, row) => [index, row]));
      const picked = r.probs!.indexSelect(0, tensor(BigInt64Array.from(ok, (i) => BigInt(rows.get(i)!)), [ok.length]));
      sum = sum ? sum.add(picked) : picked;
    }
    return results.length > 1 ? sum!.div(results.length) : sum!;
  });
  return { probs, ok, failed };
}

function inputName(input: ImageInput, index: number): string {
  return typeof input === 'string' || input instanceof Uint8Array ? imageName(input, index) : `image #${index + 1}`;
}

function ttaOptions(tta: PredictOptions['tta']): TTAOptions | null {
  if (!tta) return null;
  return tta === true ? { flips: true } : tta;
}

/**
 * A model with what it needs to predict on raw images: class names and preprocessing. Runs in eval mode
 * without gradients; `dispose()` frees the weights.
 */
export class ImageClassifier implements Classifier {
  /** Wraps `model` (eval mode is set here) with its classes and preprocessing. */
  constructor(readonly model: Module, readonly classes: string[], readonly preprocessing: Preprocessing) {
    checkPreprocessing(preprocessing);
    model.eval();
  }

  /** Softmax probabilities [N, K] of a preprocessed batch [N, C, H, W] (averaged over TTA views when asked). */
  forwardProbabilities(x: Tensor, tta: TTAOptions | null = null): Tensor {
    return noGrad(() => tidy(() => {
      const views = tta ? ttaViews(x, tta) : [x];
      let sum = this.model.forward(views[0]).softmax(1);
      for (const view of views.slice(1)) sum = sum.add(this.model.forward(view).softmax(1));
      const probs = views.length > 1 ? sum.div(views.length) : sum;
      if (probs.rank !== 2 || probs.shape[1] !== this.classes.length) {
        throw new Error(`the model outputs [${probs.shape.join(', ')}] but has ${this.classes.length} classes`);
      }
      return probs;
    }));
  }

  private batched(x: Tensor, options: PredictOptions): Tensor {
    const batchSize = options.batchSize ?? 64;
    const tta = ttaOptions(options.tta);
    if (x.shape[0] <= batchSize) return this.forwardProbabilities(x, tta);
    const parts: Tensor[] = [];
    try {
      for (let start = 0; start < x.shape[0]; start += batchSize) {
        parts.push(tidy(() => this.forwardProbabilities(x.slice(0, start, start + batchSize), tta)));
      }
      return cat(parts);
    } finally {
      dispose(parts);
    }
  }

  /** Softmax probabilities of the readable inputs, in input order. */
  async probabilities(inputs: readonly ImageInput[], options: PredictOptions = {}): Promise<Probabilities> {
    if (inputs.length === 0) return { probs: null, ok: [], failed: [] };
    if (inputs.every((i) => typeof i !== 'string' && !(i instanceof Uint8Array))) return this.tensorProbabilities(inputs as Tensor[], options);
    if (inputs.some((i) => typeof i !== 'string' && !(i instanceof Uint8Array))) throw new Error('predict: give either images (paths or bytes) or tensors, not both');
    const sources = inputs as ImageSource[];
    const workers = options.workers ?? (sources.length >= WORKER_THRESHOLD ? undefined : 0);
    if (workers !== 0 && sources.every((s) => typeof s === 'string')) return this.loaderProbabilities(sources as string[], options, workers);
    const { x, ok, failed } = await preprocessImages(sources, this.preprocessing);
    if (!x) return { probs: null, ok, failed };
    try {
      return { probs: this.batched(x, options), ok, failed };
    } finally {
      x.dispose();
    }
  }

  private tensorProbabilities(inputs: Tensor[], options: PredictOptions): Probabilities {
    const batch = tidy(() => cat(inputs.map((t) => (t.rank === 3 ? t.unsqueeze(0) : t))));
    try {
      return { probs: this.batched(batch, options), ok: Array.from({ length: batch.shape[0] }, (_, i) => i), failed: [] };
    } finally {
      batch.dispose();
    }
  }

  // NOTE: many files decode in the ImageLoader's worker threads; each item's label is its input index, so
  // rows of the batches find their way back to the inputs even when broken files are skipped.
  private async loaderProbabilities(files: string[], options: PredictOptions, workers: number | undefined): Promise<Probabilities> {
    const dataset = new ImageDataset(files.map((file, label) => ({ file, label })), [], 'images to predict');
    const loader = new ImageLoader(dataset, {
      ...this.preprocessing, normalize: this.preprocessing.normalize ?? 'none', batchSize: options.batchSize ?? 64, workers, cache: false, log: () => undefined,
    });
    const parts: Tensor[] = [];
    const ok: number[] = [];
    try {
      for await (const batch of loader) {
        try {
          ok.push(...Array.from(batch.y.toArray() as BigInt64Array, Number));
          parts.push(keep(this.forwardProbabilities(batch.x, ttaOptions(options.tta))));
        } finally {
          dispose(batch);
        }
      }
    } finally {
      await loader.close();
    }
    const indexOf = new Map(files.map((file, i) => [file, i]));
    const failed = loader.skipped.items.map((b) => ({ index: indexOf.get(b.file) ?? -1, file: b.file, reason: b.reason })).sort((a, b) => a.index - b.index);
    try {
      return { probs: parts.length ? cat(parts) : null, ok, failed };
    } finally {
      dispose(parts);
    }
  }

  /** Labelled predictions (most probable class, all probabilities, top k) of one image or a list. */
  predict(inputs: ImageInput | readonly ImageInput[], options: PredictOptions = {}): Promise<PredictResults> {
    return classify(this, inputs, options);
  }

  /** Frees the model's weights. */
  dispose(): void {
    this.model.dispose();
  }
}

/**
 * Several classifiers with the same classes, averaging their probabilities (the Keras tutorial's ensembles).
 * Each member preprocesses the images its own way; an image any member cannot read is reported as failed.
 */
export class Ensemble implements Classifier {
  readonly classes: string[];

  /** Combines `members` (at least one; the same class names in the same order). */
  constructor(readonly members: Classifier[]) {
    if (members.length === 0) throw new Error('Ensemble: needs at least one model');
    this.classes = members[0].classes;
    members.forEach((m, i) => {
      if (m.classes.join('\u0000') !== this.classes.join('\u0000')) {
        throw new Error(`Ensemble: model ${i + 1} has classes [${m.classes.join(', ')}], model 1 has [${this.classes.join(', ')}]; they must be the same, in the same order`);
      }
    });
  }

  /** Mean of the members' probabilities over the inputs every member could read. */
  async probabilities(inputs: readonly ImageInput[], options: PredictOptions = {}): Promise<Probabilities> {
    const results: Probabilities[] = [];
    try {
      for (const member of this.members) results.push(await member.probabilities(inputs, options));
      return meanProbabilities(results);
    } finally {
      for (const r of results) r.probs?.dispose();
    }
  }

  /** Labelled predictions from the averaged probabilities. */
  predict(inputs: ImageInput | readonly ImageInput[], options: PredictOptions = {}): Promise<PredictResults> {
    return classify(this, inputs, options);
  }

  /** Frees every member's weights. */
  dispose(): void {
    for (const m of this.members) m.dispose();
  }
}
