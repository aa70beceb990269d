/** fineTune: fastai's fine_tune (a frozen one-cycle stage, then an unfrozen one with discriminative lrs), resumable. */
import type { EpochRecord, Learner } from './learner.js';
import { type OneCycleOptions, fitOneCycle } from './schedules.js';
import { lrSlice } from './lr-spec.js';

/** Stage labels fineTune puts on the learner (and so into checkpoints). */
export const FINE_TUNE_STAGES = { frozen: 'fine-tune:frozen', unfrozen: 'fine-tune:unfrozen' } as const;

/** Options of fineTune (fastai's defaults); other one-cycle options apply to both stages. */
export interface FineTuneOptions extends Omit<OneCycleOptions, 'pctStart' | 'divFactor' | 'startEpoch'> {
  /** Epochs of the frozen stage (default 1; 0 skips it). */
  freezeEpochs?: number;
  /** The body's lr is the head's divided by this in the unfrozen stage (default 100). */
  lrMult?: number;
  /** Warm-up share of the unfrozen stage (default 0.3; the frozen stage uses 0.99). */
  pctStart?: number;
  /** The unfrozen stage starts at lr / div (default 5; the frozen stage uses fitOneCycle's 25). */
  div?: number;
  /**
   * Continue an interrupted fineTune from a checkpoint (what loadCheckpoint returned): its stage
   * and epoch say where to pick up. The learner must have been restored with loadCheckpoint.
   */
  resume?: { stage?: string | null; epoch: number };
}

/**
 * fastai's fine_tune, step for step: freeze(); fitOneCycle(freezeEpochs, lrSlice(baseLr),
 * pctStart 0.99); baseLr /= 2; unfreeze(); fitOneCycle(epochs, lrSlice(baseLr / lrMult, baseLr),
 * pctStart, div). Both stages end at lr / finalDiv with fastai's finalDiv of 1e5 unless given.
 * freeze and unfreeze clear the optimizer's state, as in fastai. Returns both stages' records.
 */
export async function fineTune(learn: Learner, epochs: number, baseLr = 2e-3, options: FineTuneOptions = {}): Promise<EpochRecord[]> {
  const { freezeEpochs = 1, lrMult = 100, pctStart = 0.3, div = 5, resume, ...rest } = options;
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`fine-tune.ts: epochs must be a positive integer, got ${epochs}`);
  if (!Number.isInteger(freezeEpochs) || freezeEpochs < 0) throw new Error(`fine-tune.ts: freezeEpochs must be a non-negative integer, got ${freezeEpochs}`);
  if (!(baseLr > 0 && Number.isFinite(baseLr))) throw new Error(`fine-tune.ts: baseLr must be a positive number, got ${baseLr}`);
  if (!(lrMult > 0 && Number.isFinite(lrMult))) throw new Error(`fine-tune.ts: lrMult must be a positive number, got ${lrMult}`);
  const oneCycle: OneCycleOptions = { finalDiv: 1e5, ...rest };
  let stage: 'frozen' | 'unfrozen' = 'frozen';
  let startEpoch = 0;
  if (resume !== undefined) {
    if (resume.stage === FINE_TUNE_STAGES.frozen) stage = 'frozen';
    else if (resume.stage === FINE_TUNE_STAGES.unfrozen) stage = 'unfrozen';
    else throw new Error(`fine-tune.ts: the checkpoint was not saved during fineTune (its stage is ${JSON.stringify(resume.stage ?? null)})`);
    startEpoch = resume.epoch;
  }
  const records: EpochRecord[] = [];
  try {
    if (stage === 'frozen') {
      // NOTE: on resume the frozen state and the optimizer's state come from the checkpoint; freezing again would clear them.
      if (resume === undefined) learn.freeze();
      if (freezeEpochs > 0) {
        learn.stage = FINE_TUNE_STAGES.frozen;
        records.push(...await fitOneCycle(learn, freezeEpochs, lrSlice(baseLr), { ...oneCycle, pctStart: 0.99, startEpoch }));
      }
      startEpoch = 0;
      learn.unfreeze();
    }
    const lr = baseLr / 2;
    learn.stage = FINE_TUNE_STAGES.unfrozen;
    records.push(...await fitOneCycle(learn, epochs, lrSlice(lr / lrMult, lr), { ...oneCycle, pctStart, divFactor: div, startEpoch }));
  } finally {
    learn.stage = undefined;
  }
  return records;
}
