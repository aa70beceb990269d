/** ONNX emitters of containers and architectures: Sequential, NamedSequential, GraphModel, ResNet, MobileNetV2 and their blocks. */
import { GraphModel, type Module, NamedSequential, Sequential } from '../../nn/index.js';
import { BasicBlock, Bottleneck, ResNet } from '../../vision/resnet.js';
import { ConvBNReLU6, InvertedResidual, MobileNetV2 } from '../../vision/mobilenet.js';
import { type OnnxValue, attr } from './builder.js';
import { type ExportContext, registerOnnxEmitter } from './context.js';

registerOnnxEmitter(Sequential, (m, [x], ctx) => ctx.chain(m.namedChildren(), x));
// NOTE: a cut body (cutModel) keeps the original names, so its nodes read `layer1.0.conv1` as in the full network.
registerOnnxEmitter(NamedSequential, (m, [x], ctx) => ctx.chain(m.entries, x));

registerOnnxEmitter(GraphModel, (m, inputs, ctx) => {
  if (m.outputs.length !== 1) throw new Error(`ONNX export: graph '${ctx.label()}' has ${m.outputs.length} outputs; export supports one`);
  const shown = (shape: readonly (number | null)[]) => `[${shape.map(String).join(', ')}]`;
  m.inputs.forEach((t, i) => {
    // NOTE: a graph built for fixed sizes (a TF.js import) runs only at them: its 'same' pads and reshapes were fixed then.
    const got = inputs[i]?.shape;
    if (!got || got.length !== t.shape.length || t.shape.some((d, k) => d !== null && d !== got[k])) {
      throw new Error(`ONNX export: graph '${ctx.label()}' input '${t.name}' expects shape ${shown(t.shape)}, got ${got ? shown(got) : 'nothing'}`);
    }
  });
  const values = new Map(m.inputs.map((t, i) => [t, inputs[i]]));
  for (const step of m.steps) {
    // NOTE: a shared layer's later calls get their own node names (`name`, `name_1`, ...) but reuse its initializers' data.
    const out = ctx.emit(step.module, step.inputs.map((t) => values.get(t)!), step.call === 0 ? step.name : `${step.name}_${step.call}`);
    values.set(step.outputs[0], out);
  }
  return values.get(m.outputs[0])!;
});

function relu(x: OnnxValue, ctx: ExportContext, suffix: string): OnnxValue {
  return ctx.op('Relu', [x.name], x.shape, {}, suffix);
}

/** residual + shortcut, then relu (torchvision's blocks). */
function merge(residual: OnnxValue, x: OnnxValue, downsample: Sequential | null, ctx: ExportContext): OnnxValue {
  const identity = downsample ? ctx.emit(downsample, [x], 'downsample') : x;
  const sum = ctx.op('Add', [residual.name, identity.name], residual.shape, {}, 'add');
  return relu(sum, ctx, 'relu_out');
}

registerOnnxEmitter(BasicBlock, (m, [x], ctx) => {
  const a = relu(ctx.chain([['conv1', m.conv1], ['bn1', m.bn1]], x), ctx, 'relu1');
  const b = ctx.chain([['conv2', m.conv2], ['bn2', m.bn2]], a);
  return merge(b, x, m.downsample, ctx);
});

registerOnnxEmitter(Bottleneck, (m, [x], ctx) => {
  const a = relu(ctx.chain([['conv1', m.conv1], ['bn1', m.bn1]], x), ctx, 'relu1');
  const b = relu(ctx.chain([['conv2', m.conv2], ['bn2', m.bn2]], a), ctx, 'relu2');
  const c = ctx.chain([['conv3', m.conv3], ['bn3', m.bn3]], b);
  return merge(c, x, m.downsample, ctx);
});

registerOnnxEmitter(ResNet, (m, [x], ctx) => {
  const stem: [string, Module][] = [['conv1', m.conv1], ['bn1', m.bn1], ['relu', m.relu], ['maxpool', m.maxpool]];
  const features = ctx.chain([...stem, ['layer1', m.layer1], ['layer2', m.layer2], ['layer3', m.layer3], ['layer4', m.layer4], ['avgpool', m.avgpool]], x);
  const flat = ctx.op('Flatten', [features.name], [features.shape[0], features.shape[1]], {}, 'flatten');
  return ctx.emit(m.fc, [flat], 'fc');
});

// NOTE: ConvBNReLU6 overrides forward only to run relu6 in place; it computes what its Sequential of layers does.
registerOnnxEmitter(ConvBNReLU6, (m, [x], ctx) => ctx.chain(m.namedChildren(), x));

registerOnnxEmitter(InvertedResidual, (m, [x], ctx) => {
  const y = ctx.emit(m.conv, [x], 'conv');
  return m.useResConnect ? ctx.op('Add', [y.name, x.name], y.shape, {}, 'add') : y;
});

registerOnnxEmitter(MobileNetV2, (m, [x], ctx) => {
  const features = ctx.emit(m.features, [x], 'features');
  const pooled = ctx.op('GlobalAveragePool', [features.name], [features.shape[0], features.shape[1], 1, 1], {}, 'pool');
  const flat = ctx.op('Flatten', [pooled.name], [features.shape[0], features.shape[1]], { axis: attr.int(1) }, 'flatten');
  return ctx.emit(m.classifier, [flat], 'classifier');
});
