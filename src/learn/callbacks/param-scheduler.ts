/** ParamScheduler: sets every parameter group's lr (and momentum) per batch from schedules of training progress. */
import type { ParamGroup } from '../../optim/index.js';
import type { Callback } from '../events.js';
import type { Learner } from '../learner.js';
import type { Schedule } from '../schedules.js';

/** The schedules a ParamScheduler follows. */
export interface ParamSchedules {
  /** Learning rate by training progress: one schedule for every group, or one per parameter group. */
  lr?: Schedule | readonly Schedule[];
  /** Momentum (SGD's momentum, Adam's beta1) by training progress. */
  mom?: Schedule;
}

/** The momentum of a group: SGD's `momentum` or Adam's `betas[0]` (undefined when it has neither). */
export function groupMomentum(group: ParamGroup): number | undefined {
  return group.betas ? group.betas[0] : group.momentum;
}

/** Sets a group's momentum (SGD's `momentum` or Adam's `betas[0]`). */
export function setGroupMomentum(group: ParamGroup, value: number): void {
  if (group.betas) group.betas[0] = value;
  else if (group.momentum !== undefined) group.momentum = value;
}

/**
 * Before each training batch, sets lr and momentum of every group to the schedules' values at
 * `learn.iteration / learn.totalIterations` (epochs x batches per epoch, or the fit's `iterations`;
 * fastai's ParamScheduler). Because the position comes from the learner's iteration, a fit resumed
 * at `startEpoch` follows the same curve.
 */
export class ParamScheduler implements Callback {
  readonly name = 'ParamScheduler';
  readonly order = 60;
  /** Training progress of the last scheduled batch (0..1). */
  pos = 0;

  /** Follows the given schedules. */
  constructor(readonly schedules: ParamSchedules) {}

  /** Training progress at the current iteration. */
  progress(learn: Learner): number {
    const total = learn.totalIterations || learn.epochs * learn.data.train.length;
    return total > 0 ? learn.iteration / total : 0;
  }

  beforeFit(learn: Learner): void { this.apply(learn); }

  beforeBatch(learn: Learner): void { if (learn.training) this.apply(learn); }

  private apply(learn: Learner): void {
    this.pos = this.progress(learn);
    const optimizer = learn.createOptimizer();
    const { lr, mom } = this.schedules;
    if (Array.isArray(lr) && lr.length !== optimizer.paramGroups.length) {
      throw new Error(`ParamScheduler: ${lr.length} lr schedules for ${optimizer.paramGroups.length} parameter groups`);
    }
    optimizer.paramGroups.forEach((group, g) => {
      if (lr) group.lr = Array.isArray(lr) ? (lr as readonly Schedule[])[g](this.pos) : (lr as Schedule)(this.pos);
      if (mom) setGroupMomentum(group, mom(this.pos));
    });
  }
}
