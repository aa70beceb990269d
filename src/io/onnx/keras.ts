/** ONNX emitters of the layers the TF.js importer builds (Keras semantics: NHWC-order Flatten/Dense, 'same' padding, fused activations). */
import { KerasActivation, KerasConv2d, KerasDense, KerasFlatten, KerasReLU, KerasReshape, GlobalPool2d, Rescaling, SamePool2d, SeparableConv2d } from '../tfjs/index.js';
import { attr } from './builder.js';
import type { OnnxValue } from './builder.js';
import { type ExportContext, registerOnnxEmitter } from './context.js';

const scalar = (ctx: ExportContext, name: string, value: number) => ctx.builder.constant(ctx.label(name), [], Float32Array.of(value));

/** A Keras activation by name, on the axis where Keras's channels are (`axis`). */
function activation(name: string, x: OnnxValue, ctx: ExportContext, axis: number): OnnxValue {
  const same = (op: string, attributes = {}) => ctx.op(op, [x.name], x.shape, attributes, name);
  const mul = (a: OnnxValue, b: OnnxValue, suffix: string) => ctx.op('Mul', [a.name, b.name], x.shape, {}, suffix);
  switch (name) {
    case 'linear': return x;
    case 'relu': return same('Relu');
    case 'relu6': return ctx.op('Clip', [x.name, scalar(ctx, 'min', 0), scalar(ctx, 'max', 6)], x.shape, {}, name);
    case 'sigmoid': return same('Sigmoid');
    case 'tanh': return same('Tanh');
    case 'softmax': return same('Softmax', { axis: attr.int(axis) });
    case 'swish': case 'silu': return mul(x, same('Sigmoid'), 'swish');
    case 'hard_sigmoid': case 'hardSigmoid': return same('HardSigmoid', { alpha: attr.float(0.2), beta: attr.float(0.5) });
    case 'elu': return same('Elu', { alpha: attr.float(1) });
    case 'selu': return same('Selu');
    case 'softplus': return same('Softplus');
    case 'softsign': return same('Softsign');
    case 'mish': return mul(x, ctx.op('Tanh', [same('Softplus').name], x.shape, {}, 'mish_tanh'), 'mish');
    case 'gelu': {
      // NOTE: opset 17 has no Gelu: 0.5 x (1 + erf(x / sqrt 2)).
      const erf = ctx.op('Erf', [ctx.op('Div', [x.name, scalar(ctx, 'sqrt2', Math.SQRT2)], x.shape, {}, 'gelu_div').name], x.shape, {}, 'gelu_erf');
      const onePlus = ctx.op('Add', [erf.name, scalar(ctx, 'one', 1)], x.shape, {}, 'gelu_add');
      return ctx.op('Mul', [ctx.op('Mul', [x.name, onePlus.name], x.shape, {}, 'gelu_mul').name, scalar(ctx, 'half', 0.5)], x.shape, {}, 'gelu');
    }
    default:
      throw new Error(`ONNX export: layer '${ctx.label()}' uses activation '${name}', which Kestrel does not export`);
  }
}

const toNhwc = (x: OnnxValue, ctx: ExportContext) => ctx.op('Transpose', [x.name], [x.shape[0], x.shape[2], x.shape[3], x.shape[1]], { perm: attr.ints([0, 2, 3, 1]) }, 'to_nhwc');
const toNchw = (x: OnnxValue, ctx: ExportContext) => ctx.op('Transpose', [x.name], [x.shape[0], x.shape[3], x.shape[1], x.shape[2]], { perm: attr.ints([0, 3, 1, 2]) }, 'to_nchw');

registerOnnxEmitter(KerasConv2d, (m, [x], ctx) => {
  const [left, right, top, bottom] = m.prePads ?? (() => {
    const p = m.options.padding;
    const [ph, pw] = typeof p === 'number' ? [p, p] : Array.isArray(p) ? p : [0, 0];
    return [pw, pw, ph, ph];
  })();
  const pair = (v: number | [number, number]) => (Array.isArray(v) ? v : [v, v]);
  const inputs = [x.name, ctx.weight(m.weight, 'weight'), ...(m.bias ? [ctx.weight(m.bias, 'bias')] : [])];
  // NOTE: ONNX convolutions take asymmetric pads ([top, left, bottom, right]), so TF's 'same' needs no Pad node.
  const conv = ctx.op('Conv', inputs, ctx.outputShape(m, [x]), {
    kernel_shape: attr.ints(m.kernelSize), strides: attr.ints(pair(m.options.stride)), pads: attr.ints([top, left, bottom, right]),
    dilations: attr.ints(pair(m.options.dilation)), group: attr.int(m.options.groups),
  });
  return activation(m.activation, conv, ctx, 1);
});

registerOnnxEmitter(SeparableConv2d, (m, [x], ctx) => ctx.chain([['depthwise', m.depthwise], ['pointwise', m.pointwise]], x));

registerOnnxEmitter(SamePool2d, (m, [x], ctx) => {
  const [left, right, top, bottom] = m.pads;
  // NOTE: ONNX pooling ignores padded positions in a max and, with count_include_pad 0, in an average: Keras's rule.
  return ctx.op(m.kind === 'max' ? 'MaxPool' : 'AveragePool', [x.name], ctx.outputShape(m, [x]), {
    kernel_shape: attr.ints(m.kernelSize), strides: attr.ints(m.stride), pads: attr.ints([top, left, bottom, right]),
    ...(m.kind === 'avg' ? { count_include_pad: attr.int(0) } : {}),
  });
});

registerOnnxEmitter(GlobalPool2d, (m, [x], ctx) => {
  const pooled = ctx.op(m.kind === 'avg' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x.name], [x.shape[0], x.shape[1], 1, 1], {}, 'pool');
  return m.keepDims ? pooled : ctx.op('Flatten', [pooled.name], [x.shape[0], x.shape[1]], { axis: attr.int(1) });
});

registerOnnxEmitter(KerasFlatten, (m, [x], ctx) => {
  const source = x.shape.length === 4 ? toNhwc(x, ctx) : x;
  return ctx.op('Flatten', [source.name], ctx.outputShape(m, [x]), { axis: attr.int(1) });
});

registerOnnxEmitter(KerasReshape, (m, [x], ctx) => {
  const source = x.shape.length === 4 ? toNhwc(x, ctx) : x;
  const final = ctx.outputShape(m, [x]);
  // NOTE: Keras reshapes in NHWC order; a 4-D result goes back to NCHW, like KerasReshape.forward.
  const nhwc = final.length === 4 ? [final[0], final[2], final[3], final[1]] : final;
  const reshaped = ctx.op('Reshape', [source.name, ctx.builder.int64s(ctx.label('shape'), [0, ...m.targetShape])], nhwc, {}, 'reshape');
  return final.length === 4 ? toNchw(reshaped, ctx) : reshaped;
});

registerOnnxEmitter(KerasDense, (m, [x], ctx) => {
  const bias = m.bias ? [ctx.weight(m.bias, 'bias')] : [];
  if (x.shape.length === 2) {
    const gemm = ctx.op('Gemm', [x.name, ctx.weight(m.weight, 'weight'), ...bias], [x.shape[0], m.outFeatures], { transB: attr.int(1) }, 'dense');
    return activation(m.activation, gemm, ctx, -1);
  }
  const nhwc = x.shape.length === 4 ? toNhwc(x, ctx) : x;
  const transposed = ctx.op('Transpose', [ctx.weight(m.weight, 'weight')], [m.inFeatures, m.outFeatures], { perm: attr.ints([1, 0]) }, 'weight_t');
  const shape = [...nhwc.shape.slice(0, -1), m.outFeatures];
  let y = ctx.op('MatMul', [nhwc.name, transposed.name], shape, {}, 'matmul');
  if (bias.length) y = ctx.op('Add', [y.name, bias[0]], shape, {}, 'bias_add');
  y = activation(m.activation, y, ctx, -1);
  return x.shape.length === 4 ? toNchw(y, ctx) : y;
});

registerOnnxEmitter(KerasActivation, (m, [x], ctx) => activation(m.activation, x, ctx, x.shape.length === 4 ? 1 : -1));

registerOnnxEmitter(KerasReLU, (m, [x], ctx) => {
  // NOTE: the same order as KerasReLU.forward: keep x above the threshold, clip to [0, max], minus slope * relu(threshold - x).
  let positive = m.threshold === 0 ? ctx.op('Relu', [x.name], x.shape, {}, 'relu')
    : ctx.op('Mul', [x.name, ctx.op('Cast', [ctx.op('Greater', [x.name, scalar(ctx, 'threshold', m.threshold)], x.shape, {}, 'above').name], x.shape, { to: attr.int(1) }, 'mask').name], x.shape, {}, 'kept');
  if (m.maxValue !== null) positive = ctx.op('Clip', [positive.name, scalar(ctx, 'min', 0), scalar(ctx, 'max', m.maxValue)], x.shape, {}, 'clip');
  if (m.negativeSlope === 0) return positive;
  const below = ctx.op('Relu', [ctx.op('Sub', [scalar(ctx, 'threshold_b', m.threshold), x.name], x.shape, {}, 'below').name], x.shape, {}, 'below_relu');
  return ctx.op('Sub', [positive.name, ctx.op('Mul', [below.name, scalar(ctx, 'slope', m.negativeSlope)], x.shape, {}, 'slope_mul').name], x.shape, {}, 'out');
});

registerOnnxEmitter(Rescaling, (m, [x], ctx) => {
  const scaled = ctx.op('Mul', [x.name, scalar(ctx, 'scale', m.scale)], x.shape, {}, 'scale');
  return m.offset === 0 ? scaled : ctx.op('Add', [scaled.name, scalar(ctx, 'offset', m.offset)], x.shape, {}, 'offset');
});
