/** SGD with momentum, dampening, Nesterov momentum and L2 weight decay (torch.optim.SGD, PyTorch 1.13). */
import type { Tensor } from '../tensor/index.js';
import { type ParamGroup, type ParamState, type ParamsInput, Optimizer } from './optimizer.js';
import { checkBoolean, checkNonNegative } from './checks.js';

/** Hyper-parameters of an SGD parameter group. */
export interface SGDGroup extends ParamGroup {
  /** Momentum factor (0 = plain SGD). */
  momentum: number;
  /** Dampening for momentum. */
  dampening: number;
  /** Whether to use Nesterov momentum (needs momentum > 0 and dampening 0). */
  nesterov: boolean;
}

/** SGD options (defaults for every group; `lr` may instead be given per group). */
export interface SGDOptions {
  /** Learning rate (required unless every group gives one). */
  lr?: number;
  /** Momentum factor (default 0). */
  momentum?: number;
  /** Dampening for momentum (default 0). */
  dampening?: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
  /** Nesterov momentum (default false). */
  nesterov?: boolean;
}

const STATE_NAMES = ['momentum_buffer'] as const;

/** Stochastic gradient descent, optionally with (Nesterov) momentum, exactly as torch.optim.SGD. */
export class SGD extends Optimizer<SGDGroup> {
  /** Builds SGD over tensors or parameter groups. */
  constructor(params: ParamsInput<SGDGroup>, options: SGDOptions = {}) {
    const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = options;
    super(params, { ...(lr === undefined ? {} : { lr }), momentum, dampening, weightDecay, nesterov });
  }

  /** `SGD`. */
  override get typeName(): string { return 'SGD'; }

  protected get stateNames(): readonly string[] { return STATE_NAMES; }

  protected checkGroup(group: SGDGroup, where: string): void {
    if (group.lr === undefined) throw new Error(`${where}: no lr given (SGD needs lr in the options or in every group)`);
    checkNonNegative(where, 'learning rate', group.lr);
    checkNonNegative(where, 'momentum', group.momentum);
    checkNonNegative(where, 'weightDecay', group.weightDecay);
    if (typeof group.dampening !== 'number' || Number.isNaN(group.dampening)) throw new Error(`${where}: invalid dampening ${String(group.dampening)}`);
    checkBoolean(where, 'nesterov', group.nesterov);
    if (group.nesterov && (group.momentum <= 0 || group.dampening !== 0)) {
      throw new Error(`${where}: Nesterov momentum requires momentum > 0 and dampening 0 (got momentum ${group.momentum}, dampening ${group.dampening})`);
    }
  }

  // NOTE: a missing momentum buffer is valid: it is created from the gradient on the next step.
  protected missingState(): string | null { return null; }

  protected updateParam(param: Tensor, grad: Tensor, state: ParamState, group: SGDGroup): void {
    const { lr, momentum, dampening, weightDecay, nesterov } = group;
    let direction = weightDecay !== 0 ? grad.add(param, weightDecay) : grad;
    if (momentum !== 0) {
      let buffer = state.tensors.get('momentum_buffer');
      if (buffer === undefined) {
        const initial = direction;
        buffer = this.stateTensor(state, 'momentum_buffer', () => initial.clone());
      } else {
        buffer.mul_(momentum).add_(direction, 1 - dampening);
      }
      direction = nesterov ? direction.add(buffer, momentum) : buffer;
    }
    param.add_(direction, -lr);
  }
}
