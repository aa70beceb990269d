/**
 * Training checkpoints: weights, optimizer state, schedule position, RNG states, data-loader
 * state, callback state and history, saved so that a resumed fit continues bit-for-bit.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  getRngState, loadOptimizerState, loadSafetensors, saveOptimizerState, saveSafetensors, setRngState, writeTextFileAtomic,
} from '../tensor/index.js';
import type { OptimizerStateDict } from '../optim/index.js';
import { getWorldSize } from '../distributed/index.js';
import type { Learner } from './learner.js';
import { loadWeights, saveWeights } from './weights.js';

/** Name of the pointer file that names the current checkpoint; it is written last, atomically. */
export const CHECKPOINT_POINTER = 'checkpoint.json';

/** What a checkpoint records besides tensors. */
export interface CheckpointInfo {
  /** Epochs completed: resume with `fit(epochs, lr, { startEpoch: info.epoch })`. */
  epoch: number;
  /** Training iterations completed (the schedule position). */
  iteration: number;
  /** Epochs planned for the fit that saved it. */
  epochs: number;
  /** Training iterations planned for that fit (FitOptions.iterations; epochs x batches unless it ended part-way). */
  totalIterations: number;
  /** Folder of the checkpoint's files. */
  path: string;
  /** Parameter groups frozen when it was saved (Learner.frozenIdx; restored by loadCheckpoint). */
  frozenIdx: number;
  /** The learner's stage label when it was saved (e.g. fineTune's), or null. */
  stage: string | null;
}

/** A data source whose order can be saved (DataLoader). */
interface StatefulSource { getState(): unknown; setState(state: never): void }

function stateful(source: unknown): source is StatefulSource {
  return typeof (source as StatefulSource | undefined)?.getState === 'function' && typeof (source as StatefulSource).setState === 'function';
}

// NOTE: JSON has no NaN/Infinity (history holds NaN validLoss without validation, trackers start at
// Infinity); they are written as tagged strings so they round-trip.
const TAG = '$number:';
const encode = (value: object): string => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? TAG + String(v) : v), 1);
const decode = (text: string): unknown => JSON.parse(text, (_k, v: unknown) => (typeof v === 'string' && v.startsWith(TAG) ? Number(v.slice(TAG.length)) : v));

function callbackStates(learn: Learner): Record<string, Record<string, unknown>> {
  const states: Record<string, Record<string, unknown>> = {};
  for (const callback of learn.callbacks) {
    if (typeof callback.getState !== 'function') continue;
    let key = callback.name ?? callback.constructor.name;
    for (let i = 2; key in states; i++) key = `${callback.name ?? callback.constructor.name}#${i}`;
    states[key] = callback.getState();
  }
  return states;
}

/**
 * Saves a checkpoint of `learn` into `dir`: the files go into a new sub-folder, then
 * `checkpoint.json` is atomically replaced to point at it, then older sub-folders are removed.
 * A crash at any moment leaves the previous checkpoint loadable. Returns what was saved.
 */
export function saveCheckpoint(learn: Learner, dir: string): CheckpointInfo {
  mkdirSync(dir, { recursive: true });
  const epoch = learn.history.length > 0 ? learn.history[learn.history.length - 1].epoch : 0;
  const name = `epoch-${String(epoch).padStart(4, '0')}-${randomBytes(4).toString('hex')}`;
  const folder = join(dir, name);
  mkdirSync(folder);
  saveWeights(join(folder, 'model.safetensors'), learn.model, { epoch: String(epoch) });
  if (learn.optimizer) {
    const optimizerState = learn.optimizer.stateDict();
    try {
      saveOptimizerState(join(folder, 'optimizer.safetensors'), optimizerState);
    } finally {
      for (const t of optimizerState.tensors.values()) t.dispose();
    }
  }
  const rng = getRngState();
  try {
    saveSafetensors(join(folder, 'rng.safetensors'), { torch: rng });
  } finally {
    rng.dispose();
  }
  const state = {
    version: 1, epoch, iteration: learn.iteration, epochs: learn.epochs, totalIterations: learn.totalIterations, worldSize: getWorldSize(),
    optimizer: learn.optimizer?.typeName ?? null,
    groups: learn.parameterGroups().map((g) => g.length),
    frozenIdx: learn.frozenIdx,
    stage: learn.stage ?? null,
    train: stateful(learn.data.train) ? learn.data.train.getState() : null,
    valid: stateful(learn.data.valid) ? learn.data.valid.getState() : null,
    callbacks: callbackStates(learn),
    history: learn.history,
  };
  writeTextFileAtomic(join(folder, 'state.json'), encode(state));
  writeTextFileAtomic(join(dir, CHECKPOINT_POINTER), JSON.stringify({ version: 1, current: name, epoch }, null, 1) + '\n');
  for (const entry of readdirSync(dir)) {
    if (entry !== name && /^epoch-\d+-[0-9a-f]+$/.test(entry)) rmSync(join(dir, entry), { recursive: true, force: true });
  }
  return { epoch, iteration: learn.iteration, epochs: learn.epochs, totalIterations: learn.totalIterations, path: folder, frozenIdx: learn.frozenIdx, stage: learn.stage ?? null };
}

/** Whether `dir` holds a checkpoint (its pointer file exists). */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, CHECKPOINT_POINTER));
}

/**
 * Restores a checkpoint saved by saveCheckpoint into `learn` (a freshly built model, optimizer and
 * loaders of the same shapes will do): weights, optimizer state, libtorch's RNG, the loaders'
 * shuffling state, callbacks' state (by name) and history. Then call
 * `learn.fit(epochs, lr, { startEpoch: info.epoch })` (or fitOneCycle etc. with the same options).
 */
export function loadCheckpoint(learn: Learner, dir: string): CheckpointInfo {
  const pointerPath = join(dir, CHECKPOINT_POINTER);
  if (!existsSync(pointerPath)) throw new Error(`checkpoint.ts: no checkpoint in '${dir}' (${CHECKPOINT_POINTER} is missing)`);
  const pointer = JSON.parse(readFileSync(pointerPath, 'utf8')) as { version: number; current: string };
  if (pointer.version !== 1 || typeof pointer.current !== 'string' || !/^epoch-\d+-[0-9a-f]+$/.test(pointer.current)) {
    throw new Error(`checkpoint.ts: '${pointerPath}' is not a Kestrel checkpoint pointer`);
  }
  const folder = join(dir, pointer.current);
  const state = decode(readFileSync(join(folder, 'state.json'), 'utf8')) as {
    version: number; epoch: number; iteration: number; epochs: number; totalIterations?: number; worldSize?: number; optimizer: string | null;
    train: unknown; valid: unknown; callbacks: Record<string, Record<string, unknown>>; history: Learner['history'];
    groups?: number[]; frozenIdx?: number; stage?: string | null;
  };
  if (state.version !== 1) throw new Error(`checkpoint.ts: '${folder}' has unknown version ${state.version}`);
  // NOTE: checkpoints from before parameter groups have neither field: one group, nothing frozen.
  const groups = learn.parameterGroups().map((g) => g.length);
  if (state.groups !== undefined && state.groups.join(',') !== groups.join(',')) {
    throw new Error(`checkpoint.ts: '${folder}' was saved with parameter groups of [${state.groups.join(', ')}] parameters, this learner's are [${groups.join(', ')}]`);
  }
  // NOTE: each rank's data shard and steps per epoch depend on the number of processes, so resume needs the same.
  const worldSize = state.worldSize ?? 1;
  if (worldSize !== getWorldSize()) {
    throw new Error(`checkpoint.ts: '${folder}' was saved by ${worldSize} process${worldSize === 1 ? '' : 'es'} and this run has ${getWorldSize()}: resume with the same number (--nproc/--nnodes)`);
  }
  loadWeights(join(folder, 'model.safetensors'), learn.model);
  // NOTE: before the optimizer's state, because freezing clears it; left alone when it already
  // agrees, so parameters frozen by hand (module.freeze) in a one-group learner stay frozen.
  if ((state.frozenIdx ?? 0) !== learn.frozenIdx) learn.freezeTo(state.frozenIdx ?? 0);
  learn.stage = state.stage ?? undefined;
  if (state.optimizer !== null) {
    const optimizer = learn.createOptimizer();
    const saved = loadOptimizerState(join(folder, 'optimizer.safetensors'));
    try {
      optimizer.loadStateDict(saved as OptimizerStateDict);
    } finally {
      for (const t of saved.tensors.values()) t.dispose();
    }
  }
  const { tensors } = loadSafetensors(join(folder, 'rng.safetensors'));
  try {
    const rng = tensors.get('torch');
    if (!rng) throw new Error(`checkpoint.ts: '${folder}/rng.safetensors' lacks the torch generator state`);
    setRngState(rng);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  if (state.train !== null && stateful(learn.data.train)) learn.data.train.setState(state.train as never);
  if (state.valid !== null && stateful(learn.data.valid)) learn.data.valid.setState(state.valid as never);
  const seen = new Set<string>();
  for (const callback of learn.callbacks) {
    if (typeof callback.setState !== 'function') continue;
    let key = callback.name ?? callback.constructor.name;
    for (let i = 2; seen.has(key); i++) key = `${callback.name ?? callback.constructor.name}#${i}`;
    seen.add(key);
    if (state.callbacks[key]) callback.setState(state.callbacks[key]);
  }
  learn.history.splice(0, learn.history.length, ...state.history);
  // NOTE: checkpoints from before `totalIterations` was recorded ran whole epochs.
  const totalIterations = state.totalIterations ?? state.epochs * learn.data.train.length;
  return { epoch: state.epoch, iteration: state.iteration, epochs: state.epochs, totalIterations, path: folder, frozenIdx: learn.frozenIdx, stage: state.stage ?? null };
}
