/** Graph clean-up before encoding: batch norm folded into the convolution before it, unused initializers dropped. */
import type { OnnxGraphBuilder, OnnxInitializer } from './builder.js';

function floats(builder: OnnxGraphBuilder, name: string): Float32Array {
  const init = builder.initializers.get(name);
  if (!init || !(init.data instanceof Float32Array)) throw new Error(`ONNX export: '${name}' is not a float initializer`);
  return init.data;
}

/**
 * Folds every BatchNormalization whose input comes straight from a Conv read by nothing else into that Conv:
 * W' = W * g / sqrt(v + eps) per output channel, b' = (b - m) * g / sqrt(v + eps) + beta. New initializers are
 * written (a shared weight is never changed in place). Returns how many were folded.
 */
export function foldBatchNorms(builder: OnnxGraphBuilder, graphOutputs: Set<string>): number {
  const producer = new Map(builder.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const readers = new Map<string, number>();
  for (const n of builder.nodes) for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
  const removed = new Set<object>();
  let folded = 0;
  for (const bn of builder.nodes) {
    if (bn.opType !== 'BatchNormalization') continue;
    const conv = producer.get(bn.inputs[0]);
    if (!conv || conv.opType !== 'Conv' || readers.get(bn.inputs[0]) !== 1 || graphOutputs.has(bn.inputs[0])) continue;
    const [gamma, beta, mean, variance] = bn.inputs.slice(1).map((n) => floats(builder, n));
    const eps = bn.attributes.epsilon?.type === 'float' ? bn.attributes.epsilon.value : 1e-5;
    const weightInit = builder.initializers.get(conv.inputs[1]) as OnnxInitializer & { data: Float32Array };
    const outChannels = weightInit.dims[0];
    const perChannel = weightInit.data.length / outChannels;
    const bias = conv.inputs[2] ? floats(builder, conv.inputs[2]) : new Float32Array(outChannels);
    const weight = new Float32Array(weightInit.data.length);
    const newBias = new Float32Array(outChannels);
    for (let o = 0; o < outChannels; o++) {
      // NOTE: in float64, then rounded once, as torch.onnx's fusion does.
      const scale = gamma[o] / Math.sqrt(variance[o] + eps);
      for (let k = 0; k < perChannel; k++) weight[o * perChannel + k] = weightInit.data[o * perChannel + k] * scale;
      newBias[o] = (bias[o] - mean[o]) * scale + beta[o];
    }
    conv.inputs[1] = builder.constant(`${conv.name}.folded_weight`, weightInit.dims, weight);
    conv.inputs[2] = builder.constant(`${conv.name}.folded_bias`, [outChannels], newBias);
    conv.outputs[0] = bn.outputs[0];
    removed.add(bn);
    folded++;
  }
  const kept = builder.nodes.filter((n) => !removed.has(n));
  builder.nodes.splice(0, builder.nodes.length, ...kept);
  const read = new Set(kept.flatMap((n) => n.inputs));
  for (const name of [...builder.initializers.keys()]) if (!read.has(name)) builder.initializers.delete(name);
  return folded;
}
