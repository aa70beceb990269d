/**
 * The change proposed for src/nn/conv.ts, applied from outside for measurement: conv weights stored
 * channels-last (NHWC strides, same values), so libtorch's oneDNN convolutions, pooling and batch norm
 * run in NHWC and skip the per-call NCHW <-> blocked reorders.
 */
import { noGrad, op } from '../src/tensor/index.js';
import { Conv2d, type Module, Parameter } from '../src/nn/index.js';

/** PyTorch's at::MemoryFormat::ChannelsLast. */
const CHANNELS_LAST = 2;

/** Re-stores every Conv2d weight of `model` channels-last (call before building the optimizer). */
export function convWeightsToChannelsLast(model: Module): void {
  for (const [, module] of model.namedModules()) {
    if (!(module instanceof Conv2d)) continue;
    const old = module.weight;
    // NOTE: clone with an explicit memory format re-strides even ambiguous weights ([out, 1, k, k]),
    // which contiguous(channels_last) would leave as they are (torch's module.to(memory_format) does the same).
    const restrided = noGrad(() => op('aten::clone', '', [old.handle, CHANNELS_LAST]));
    (module as { weight: Parameter }).weight = new Parameter(restrided, old.requiresGrad);
    old.dispose();
  }
}
