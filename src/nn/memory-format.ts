/** Channels-last: which models want NHWC batches, and converting a batch to that layout. */
import { type Tensor, op } from '../tensor/index.js';
import { Conv2d } from './conv.js';
import type { Module } from './module.js';

/** A model may state its layout preference with a `channelsLast` field; otherwise it is inferred. */
export interface ChannelsLastPreference {
  /** true: give this model channels-last batches; false: never. */
  readonly channelsLast?: boolean;
}

/**
 * Whether `model` wants channels-last (NHWC) input batches: its own `channelsLast` field when it has
 * one, otherwise whether any module in its tree is a Conv2d. Conv2d keeps its weights channels-last,
 * so oneDNN runs convolution, pooling and batch norm in NHWC; an NCHW batch costs a reorder first.
 * NOTE: found by walking the module tree, so Sequential models, ResNets and any model whose layers
 * are fields (MobileNet, graph or imported models) are covered without declaring anything.
 */
export function wantsChannelsLast(model: Module): boolean {
  const own = (model as Module & ChannelsLastPreference).channelsLast;
  if (typeof own === 'boolean') return own;
  return model.namedModules().some(([, module]) => module instanceof Conv2d);
}

/**
 * A 4-D batch in channels-last layout (same shape and values; a new handle, copied only when the
 * layout differs). Other ranks come back as a new handle to the same data.
 */
export function toChannelsLast(x: Tensor): Tensor {
  return x.rank === 4 ? x.contiguous('channels-last') : op('aten::alias', '', [x.handle]);
}
