/** TransferModel: a pretrained body and a new head as one Module (fastai's nn.Sequential(body, head)). */
import { type Tensor, noGrad, tidy, zeros } from '../tensor/index.js';
import { AdaptiveAvgPool2d, AdaptiveMaxPool2d, Conv2d, Module, type Sequential } from '../nn/index.js';
import { AdaptiveConcatPool2d } from './head.js';
import { applyLayers } from './resnet.js';

/** Whether a head layer pools to 1x1 with no parameters, so its output can be cached with the body's. */
function isGlobalPool(layer: Module): boolean {
  if (layer instanceof AdaptiveConcatPool2d) return layer.size === 1;
  if (layer instanceof AdaptiveAvgPool2d || layer instanceof AdaptiveMaxPool2d) return String(layer.outputSize) === '1' || String(layer.outputSize) === '1,1';
  return false;
}

/**
 * A body (the pretrained network cut before its pooling and classifier) followed by a head.
 * State-dict names are `body.<the original model's names>` (e.g. `body.layer1.0.conv1.weight`)
 * and `head.<index>.<param>` (e.g. `head.2.weight`, the head's first batch norm).
 *
 * With precomputed features (see VisionLearner's precompute), the model also accepts the cached
 * output of body + pooling, shaped [N, ...featureShape], and runs only the rest of the head.
 */
export class TransferModel extends Module {
  /** The pretrained part, images to feature maps. */
  readonly body: Module;
  /** The new classifier, feature maps to logits. */
  readonly head: Sequential;
  private _featureShape: number[] | null = null;

  /** Joins `body` and `head`. */
  constructor(body: Module, head: Sequential) {
    super();
    this.body = body;
    this.head = head;
  }

  /** Leading head layers that only pool (parameter-free, 1x1 output): precompute caches their output. */
  get poolLayers(): number {
    const layers = this.head.layers;
    let k = 0;
    while (k < layers.length - 1 && isGlobalPool(layers[k])) k++;
    return k;
  }

  /** Body then the head's pooling layers: what precompute caches (rank 4: [N, C, 1, 1] or the body's maps). */
  features(x: Tensor): Tensor {
    const maps = this.body.forward(x);
    const pooled = applyLayers(maps, this.head.layers.slice(0, this.poolLayers));
    if (pooled !== maps) maps.dispose();
    return pooled;
  }

  /** Shape of cached features accepted by forward() (without the batch dim), or null when off. */
  get featureShape(): number[] | null { return this._featureShape; }

  /** Accept cached features of this shape in forward() (null: images only). */
  setFeatureInput(shape: number[] | null): void {
    this._featureShape = shape === null ? null : [...shape];
  }

  /** Logits for images, or, when feature input is on and `x` has the feature shape, for cached features. */
  override forward(x: Tensor): Tensor {
    const shape = this._featureShape;
    if (shape !== null && x.rank === shape.length + 1 && shape.every((d, i) => x.shape[i + 1] === d)) {
      return applyLayers(x, this.head.layers.slice(this.poolLayers));
    }
    const maps = this.body.forward(x);
    const out = applyLayers(maps, this.head.layers);
    maps.dispose();
    return out;
  }
}

/** Input channels of a body: those of its first convolution (3 when it has none). */
export function bodyInputChannels(body: Module): number {
  for (const [, module] of body.namedModules()) if (module instanceof Conv2d) return module.inChannels;
  return 3;
}

/**
 * Output shape [C, H, W] of `body` for one input of `inputShape` ([C, H, W]), from a forward pass
 * in eval mode without gradients (fastai's num_features_model); the training mode is restored.
 */
export function bodyOutputShape(body: Module, inputShape: number[]): number[] {
  const wasTraining = body.training;
  body.eval();
  try {
    return noGrad(() => tidy(() => body.forward(zeros([1, ...inputShape])).shape.slice(1)));
  } finally {
    body.train(wasTraining);
  }
}
