/** learn.predict(image): one image file through the learner's validation preprocessing and model. */
import { type ImageSource, type Preprocessing, preprocessImages } from '../data/index.js';
import type { Learner } from './learner.js';

/** What learn.predict(image) returns. */
export interface ImagePrediction {
  /** Most probable class name (its index as a string when the data has no class names). */
  label: string;
  /** Its index. */
  classIndex: number;
  /** Every class's probability, in class order. */
  probabilities: number[];
}

function preprocessingOf(learn: Learner): Preprocessing {
  for (const source of [learn.data.valid, learn.data.train]) {
    const prep = (source as { preprocessing?: Preprocessing | null } | undefined)?.preprocessing;
    if (prep) return prep;
  }
  throw new Error('learner.ts: predict(image) needs image loaders with deterministic validation transforms (e.g. from imageFolderLoaders); for other data, pass a preprocessed tensor');
}

/** Decodes `image` as the validation loader would and returns the model's prediction for it. */
export async function predictImage(learn: Learner, image: ImageSource): Promise<ImagePrediction> {
  const { x, failed } = await preprocessImages([image], preprocessingOf(learn));
  if (!x) throw new Error(`cannot predict ${failed[0].file}: ${failed[0].reason}`);
  try {
    const probs = learn.predict(x);
    const probabilities = Array.from(probs.toArray() as Float32Array);
    probs.dispose();
    const classIndex = probabilities.indexOf(Math.max(...probabilities));
    const classes = learn.data.valid?.dataset?.classes ?? learn.data.train.dataset?.classes ?? [];
    return { label: classes[classIndex] ?? String(classIndex), classIndex, probabilities };
  } finally {
    x.dispose();
  }
}
