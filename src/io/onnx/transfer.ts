/** ONNX emitters of the fine-tuning models (visionLearner): TransferModel and fastai's concat-pooling head. */
import { AdaptiveConcatPool2d } from '../../vision/head.js';
import { TransferModel } from '../../vision/transfer-model.js';
import { attr } from './builder.js';
import { registerOnnxEmitter } from './context.js';
import { adaptivePool } from './layers.js';

registerOnnxEmitter(AdaptiveConcatPool2d, (m, [x], ctx) => {
  const max = adaptivePool('Max', m.size, x, ctx, m.constructor.name, 'max');
  const avg = adaptivePool('Average', m.size, x, ctx, m.constructor.name, 'avg');
  // NOTE: max first, then average, as fastai's AdaptiveConcatPool2d.
  const channels = x.shape[1] === null ? null : 2 * x.shape[1];
  return ctx.op('Concat', [max.name, avg.name], [x.shape[0], channels, m.size, m.size], { axis: attr.int(1) });
});

// NOTE: the exported graph always takes images (body then head); precompute's cached-feature input is a training shortcut only.
registerOnnxEmitter(TransferModel, (m, [x], ctx) => ctx.emit(m.head, [ctx.emit(m.body, [x], 'body')], 'head'));
