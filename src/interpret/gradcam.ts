/**
 * Grad-CAM (Selvaraju et al. 2017) on any model built from Modules: the target layer is found by name in
 * `model.namedModules()`, its output captured by wrapping that module's forward for one call.
 */
import { type Tensor, enableGrad, noGrad, op, tensor, tidy } from '../tensor/index.js';
import { type Module, Softmax, findModule, withForwardHooks } from '../nn/index.js';

/** Options of {@link gradCam}. */
export interface GradCamOptions {
  /** Layer name as in `model.namedModules()` (default: the last layer whose output is spatial, [N, C, H, W]). */
  layer?: string;
  /** Class explained: one index for every image, or one per image (default: each image's predicted class). */
  classIndex?: number | number[];
}

/** What {@link gradCam} returns; the caller disposes `heatmap` and `cam`. */
export interface GradCamResult {
  /** Maps upsampled (bilinear) to the input's size, each scaled to [0, 1]: [N, H, W]. */
  heatmap: Tensor;
  /** ReLU of the channel-weighted activations at the layer's resolution, unscaled: [N, h, w]. */
  cam: Tensor;
  /** The layer used. */
  layer: string;
  /** Class explained per image. */
  classIndices: number[];
  /** Predicted class and its probability (softmax of the scores) per image. */
  predicted: number[];
  probabilities: number[];
}

/** Names and output shapes of the layers one forward of `x` passes through, in the order their calls return. */
export function traceLayers(model: Module, x: Tensor): { name: string; module: Module; shape: number[] }[] {
  const names = new Map<Module, string>();
  for (const [name, module] of model.namedModules()) if (name !== '' && !names.has(module)) names.set(module, name);
  const calls: { name: string; module: Module; shape: number[] }[] = [];
  noGrad(() => tidy(() => {
    withForwardHooks(names.keys(), (module, output) => { calls.push({ name: names.get(module)!, module, shape: output.shape }); }, () => model.forward(x));
  }));
  return calls;
}

/** The default Grad-CAM layer: the last one (in call order) whose output is spatial, [N, C, H, W] with H x W > 1. */
export function lastSpatialLayer(model: Module, x: Tensor): string {
  // NOTE: a global pooling layer's [N, C, 1, 1] output is 4-D but has no space left to point at.
  const spatial = traceLayers(model, x).filter((c) => c.shape.length === 4 && c.shape[2] * c.shape[3] > 1);
  if (spatial.length === 0) throw new Error(`gradCam: ${model.constructor.name} has no layer with a spatial [N, C, H, W] output; Grad-CAM needs a convolutional model`);
  return spatial[spatial.length - 1].name;
}

function upsampleBilinear(x: Tensor, height: number, width: number): Tensor {
  return op('aten::upsample_bilinear2d', '', [x.handle, [height, width], false, null, null]);
}

/**
 * Grad-CAM heatmaps for a batch `x` [N, C, H, W]: the class score (before softmax) is back-propagated to the
 * layer's output A [N, K, h, w]; each channel's weight is its gradient averaged over space; the map is
 * ReLU(sum_k w_k A_k), upsampled to H x W. Runs in eval mode; parameters get no gradient.
 */
export function gradCam(model: Module, x: Tensor, options: GradCamOptions = {}): GradCamResult {
  if (x.rank !== 4) throw new Error(`gradCam: input must be a batch [N, C, H, W], got [${x.shape.join(', ')}]`);
  const [n, , height, width] = x.shape;
  const modes = model.namedModules().map(([, m]) => [m, m.training] as const);
  const params = model.parameters().map((p) => [p, p.requiresGrad] as const);
  model.eval();
  try {
    const calls = traceLayers(model, x);
    const layer = options.layer ?? lastSpatialLayer(model, x);
    const target = findModule(model, layer);
    const shape = calls.find((c) => c.module === target)?.shape;
    if (!shape) throw new Error(`gradCam: layer '${layer}' is not used when the model runs`);
    if (shape.length !== 4) throw new Error(`gradCam: layer '${layer}' gives [${shape.join(', ')}]; Grad-CAM needs a spatial [N, C, H, W] output`);
    // NOTE: the class score is taken before softmax: a model that ends in a Softmax layer has it skipped here.
    const last = calls[calls.length - 1]?.module;
    const skip = last instanceof Softmax ? [last] : [];
    for (const [p] of params) p.setRequiresGrad(false);
    return tidy(() => enableGrad(() => {
      let activation: Tensor | undefined;
      const scores = withForwardHooks([target, ...skip], (module, output, inputs) => {
        // NOTE: the hooks hand back fresh views, never a tensor they keep or one the caller owns: a graph model
        // frees each step's output after its last use, which must not free the captured activation.
        if (module !== target) return inputs[0].view(inputs[0].shape);
        // NOTE: the activation is cut from the graph and made a leaf, so backward stops there and fills its .grad.
        activation = output.detach().setRequiresGrad(true);
        return activation.view(activation.shape);
      }, () => model.forward(x));
      if (!activation) throw new Error(`gradCam: layer '${layer}' produced no output`);
      if (scores.rank !== 2) throw new Error(`gradCam: the model must output class scores [N, classes], got [${scores.shape.join(', ')}]`);
      const classes = scores.shape[1];
      const predicted = Array.from(scores.argmax(1).toArray() as BigInt64Array, Number);
      const chosen = options.classIndex === undefined ? predicted : Array.isArray(options.classIndex) ? options.classIndex : new Array<number>(n).fill(options.classIndex);
      if (chosen.length !== n) throw new Error(`gradCam: ${chosen.length} class indices for ${n} images`);
      for (const c of chosen) if (!Number.isInteger(c) || c < 0 || c >= classes) throw new Error(`gradCam: class index ${c} out of range for ${classes} classes`);
      const probs = scores.detach().softmax(1).toArray() as Float32Array;
      const index = tensor(BigInt64Array.from(chosen, BigInt), [n, 1]);
      scores.gather(1, index).sum().backward();
      const grad = activation.grad;
      if (!grad) throw new Error(`gradCam: no gradient reached layer '${layer}' (is the score computed from it?)`);
      const weights = grad.mean([2, 3], true);
      const cam = activation.detach().mul(weights).sum(1).relu();
      const up = upsampleBilinear(cam.unsqueeze(1), height, width).squeeze(1);
      // NOTE: each map is divided by its own maximum (a map that is all zero stays zero).
      const peak = up.flatten(1).maxAlong(1).values.clamp(1e-12).reshape(n, 1, 1);
      const heatmap = up.div(peak).clamp(0, 1);
      return {
        heatmap, cam, layer, classIndices: chosen, predicted,
        probabilities: predicted.map((c, i) => probs[i * classes + c]),
      };
    }));
  } finally {
    for (const [p, requires] of params) p.setRequiresGrad(requires);
    for (const [module, training] of modes) module.training = training;
  }
}
