/**
 * What the server runs: one or more loaded bundles (an ensemble averages them), each behind its own batcher.
 * Images are decoded per request, concurrently; only the forward passes are batched across requests.
 */
import { type Tensor, cat, dispose, keep, tidy } from '../tensor/index.js';
import { type FailedImage, type Preprocessing, preprocessImages } from '../data/index.js';
import { type PredictResults, type Probabilities, labelPredictions, meanProbabilities } from '../io/index.js';
import { type BatchObserver, Batcher, type BatcherOptions } from './batcher.js';

/** Options of a ServedModel. */
export interface ServedModelOptions extends BatcherOptions {
  /** Largest width*height accepted per image (decompression-bomb guard; default 40 megapixels). */
  maxPixels?: number;
  /** Hears the size (requests, images) of every forward batch (can also be set later as `observeBatch`). */
  observeBatch?: BatchObserver;
}

/**
 * What the server needs from a model: class names, preprocessing, and the probabilities of a preprocessed batch
 * (an ImageClassifier from loadModel(); another runtime, such as onnxruntime, can stand in).
 */
export interface ServableModel {
  readonly classes: string[];
  readonly preprocessing: Preprocessing;
  /** Softmax probabilities [N, K] of a batch [N, C, H, W]; the caller disposes them. */
  forwardProbabilities(x: Tensor): Tensor | Promise<Tensor>;
  /** Frees the model. */
  dispose(): void;
}

interface Member {
  classifier: ServableModel;
  preprocessing: Preprocessing;
  batcher: Batcher<Tensor, Tensor>;
}

/** One or more classifiers with the same classes, batched, answering raw image bytes. */
export class ServedModel {
  readonly classes: string[];
  /** Hears the size (requests, images) of every forward batch; the server sets it to fill its metrics. */
  observeBatch: BatchObserver | undefined;
  private readonly members: Member[];

  /** Serves `classifiers` (several: their probabilities are averaged). */
  constructor(classifiers: ServableModel[], options: ServedModelOptions = {}) {
    if (classifiers.length === 0) throw new Error('serve: needs at least one model');
    this.classes = classifiers[0].classes;
    const maxPixels = options.maxPixels ?? 40_000_000;
    this.observeBatch = options.observeBatch;
    this.members = classifiers.map((classifier, i) => {
      if (classifier.classes.join('\u0000') !== this.classes.join('\u0000')) {
        throw new Error(`serve: model ${i + 1} has classes [${classifier.classes.join(', ')}], model 1 has [${this.classes.join(', ')}]`);
      }
      const preprocessing = { ...classifier.preprocessing, decode: { ...classifier.preprocessing.decode, maxPixels } };
      const batcher = new Batcher<Tensor, Tensor>((xs) => forwardBatch(classifier, xs), options, (requests, images) => this.observeBatch?.(requests, images));
      return { classifier, preprocessing, batcher };
    });
  }

  /** Images waiting for a forward pass (the first member's queue). */
  get queued(): number { return this.members[0].batcher.queued; }

  /** Decodes `images`, runs them through every member (batched with other requests) and labels the mean probabilities. */
  async predict(images: Uint8Array[], options: { topK?: number; signal?: AbortSignal; names?: string[] } = {}): Promise<PredictResults> {
    const decoded = new Map<string, Promise<{ x: Tensor | null; ok: number[]; failed: FailedImage[] }>>();
    const results: Probabilities[] = [];
    try {
      // NOTE: members that preprocess alike (the usual ensemble) share one decode.
      const prepared = await Promise.all(this.members.map((m) => {
        const key = JSON.stringify(m.preprocessing);
        if (!decoded.has(key)) decoded.set(key, preprocessImages(images, m.preprocessing));
        return decoded.get(key)!;
      }));
      const outputs = await Promise.all(this.members.map((m, i) => (prepared[i].x ? m.batcher.submit(prepared[i].x!, prepared[i].ok.length, options.signal) : null)));
      outputs.forEach((probs, i) => results.push({ probs, ok: prepared[i].ok, failed: prepared[i].failed }));
      const mean = meanProbabilities(results);
      try {
        const labelled = labelPredictions(this.classes, images, mean, options.topK);
        const names = options.names;
        if (names) {
          for (const p of labelled.predictions) p.input = names[p.index] ?? p.input;
          for (const f of labelled.failed) f.file = names[f.index] ?? f.file;
        }
        return labelled;
      } finally {
        mean.probs?.dispose();
      }
    } finally {
      for (const p of await Promise.allSettled(decoded.values())) if (p.status === 'fulfilled') p.value.x?.dispose();
      dispose(results.flatMap((r) => (r.probs ? [r.probs] : [])));
    }
  }

  /** Resolves when no forward pass is running or waiting. */
  async drain(): Promise<void> {
    await Promise.all(this.members.map((m) => m.batcher.drain()));
  }

  /** Frees every member's weights. */
  dispose(): void {
    for (const m of this.members) m.classifier.dispose();
  }
}

/** One forward pass over the concatenated requests, split back into one probability tensor per request. */
async function forwardBatch(classifier: ServableModel, xs: Tensor[]): Promise<Tensor[]> {
  const batch = xs.length === 1 ? xs[0] : cat(xs);
  let probs: Tensor | undefined;
  try {
    probs = await classifier.forwardProbabilities(batch);
    const all = probs;
    let start = 0;
    return tidy(() => xs.map((x) => {
      const n = x.shape[0];
      const part = keep(all.slice(0, start, start + n).contiguous());
      start += n;
      return part;
    }));
  } finally {
    probs?.dispose();
    if (batch !== xs[0]) batch.dispose();
  }
}
