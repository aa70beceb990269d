/** Saving and restoring what a trial run changes (weights, optimizer, RNG, data order, history), for lrFind and speed measurements. */
import { dispose, getRngState, keep, noGrad, setRngState, tidy } from '../tensor/index.js';
import type { OptimizerStateDict } from '../optim/index.js';
import type { Callback } from './events.js';
import type { Learner } from './learner.js';
import { ProgressCallback } from './progress.js';

/** What {@link snapshotTraining} returns: call restore() once, in a finally. */
export interface TrainingSnapshot {
  /** Puts weights, optimizer state (or its absence), libtorch's RNG, the loaders' state and the history back. */
  restore(): void;
}

interface Stateful { getState(): unknown; setState(state: unknown): void }

/**
 * Snapshots `learn` before a trial run (creating the optimizer if needed). After restore(), later
 * training is exactly what it would have been without the trial.
 */
export function snapshotTraining(learn: Learner): TrainingSnapshot {
  const hadOptimizer = learn.optimizer !== undefined;
  const optimizer = learn.createOptimizer();
  const weights = noGrad(() => tidy(() => new Map([...learn.model.stateDict()].map(([k, t]) => [k, keep(t.clone())]))));
  const optimizerState: OptimizerStateDict = optimizer.stateDict();
  const rng = getRngState();
  const loaders = [learn.data.train, learn.data.valid]
    .filter((s): s is typeof s & Stateful => s !== undefined && typeof (s as Partial<Stateful>).getState === 'function')
    .map((source) => ({ source, state: source.getState() }));
  const historyLength = learn.history.length;
  return {
    restore(): void {
      learn.model.zeroGrad();
      learn.model.loadStateDict(weights);
      dispose([...weights.values()]);
      // NOTE: loadStateDict also restores every group's hyper-parameters (lr, momentum, betas).
      if (hadOptimizer) {
        optimizer.loadStateDict(optimizerState);
      } else {
        optimizer.dispose();
        learn.optimizer = undefined;
      }
      dispose([...optimizerState.tensors.values()]);
      setRngState(rng);
      rng.dispose();
      for (const { source, state } of loaders) source.setState(state);
      learn.history.splice(historyLength);
    },
  };
}

const SUSPENDED_HOOKS = ['afterEpoch', 'afterFit', 'afterTrain', 'afterValidate', 'beforeEpoch'] as const;

/**
 * Removes the callbacks that act at epoch or fit level (progress, logging, saving, early stopping,
 * lr schedulers) for a trial run that is not training; returns a function that puts them back.
 * Batch-level ones (MixUp, clipping, mixed precision) stay.
 */
export function suspendEpochCallbacks(learn: Learner): () => void {
  const suspended: Callback[] = learn.callbacks.filter((c) => c instanceof ProgressCallback || SUSPENDED_HOOKS.some((hook) => typeof c[hook] === 'function'));
  for (const c of suspended) learn.removeCallback(c);
  return () => { for (const c of suspended) learn.addCallback(c); };
}
