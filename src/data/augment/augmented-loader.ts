/** A batch source that augments the batches of another one (fastai's batch transforms). */
import { dispose } from '../../tensor/index.js';
import type { Batch } from '../dataset.js';
import type { BatchSource } from '../loader.js';
import { BatchAugment, type BatchAugmentOptions } from './batch-augment.js';

/** Where an AugmentedLoader stands, for checkpoints. */
export interface AugmentedLoaderState {
  /** The wrapped source's state (null when it has none). */
  source: unknown;
  /** The augmentation generator's state. */
  augment: number[];
}

interface Stateful { getState(): unknown; setState(state: unknown): void }

function isStateful(source: unknown): source is Stateful {
  return typeof (source as Stateful).getState === 'function' && typeof (source as Stateful).setState === 'function';
}

/**
 * Yields the batches of `source` with their inputs replaced by `augment.apply(x)`; targets pass
 * through unchanged. Same length and samples as the source; each batch still belongs to the consumer.
 * NOTE: augmentation lives on the training data, not in the Learner (as fastai's batch_tfms on the
 * DataLoaders): validation, TTA and lrFind see the data they should without checking a training
 * flag, `kestrel show --augment` can draw it, and one wrapper serves in-memory and folder loaders.
 */
export class AugmentedLoader implements BatchSource {
  /** Augments `source`'s batches with `augment`. */
  constructor(readonly source: BatchSource, readonly augment: BatchAugment) {}

  /** Batches per pass (the source's). */
  get length(): number { return this.source.length; }

  /** Samples per pass (the source's). */
  get numSamples(): number { return this.source.numSamples; }

  /** The source's dataset (class names). */
  get dataset(): { readonly classes: string[] } | undefined { return this.source.dataset; }

  /** One pass of augmented batches; the consumer disposes each. */
  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    for await (const batch of this.source) {
      let x;
      try {
        x = this.augment.apply(batch.x);
      } catch (error) {
        dispose(batch);
        throw error;
      }
      batch.x.dispose();
      yield { x, y: batch.y };
    }
  }

  /** The unaugmented source (e.g. to precompute features or show the raw data). */
  withoutAugmentation(): BatchSource { return this.source; }

  /** The source's state and the augmentation's generator, for resuming. */
  getState(): AugmentedLoaderState {
    return { source: isStateful(this.source) ? this.source.getState() : null, augment: this.augment.getState() };
  }

  /** Restores a state from getState(). */
  setState(state: AugmentedLoaderState): void {
    if (!state || !Array.isArray(state.augment)) throw new Error('AugmentedLoader: state must come from getState() (missing augment)');
    if (state.source !== null && isStateful(this.source)) this.source.setState(state.source);
    this.augment.setState(state.augment);
  }
}

/** `source` with batch augmentation (crop with padding, flip, erasing) from `options`. */
export function augmentBatches(source: BatchSource, options: BatchAugmentOptions): AugmentedLoader {
  return new AugmentedLoader(source, new BatchAugment(options));
}
