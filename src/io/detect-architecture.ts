/** Telling which torchvision architecture a state dict belongs to, from its names and shapes only. */

/** Names and shapes of a state dict (a WeightSource provides them without reading tensors). */
export interface ShapeSource {
  keys(): string[];
  shape(name: string): number[];
}

/** What a state dict looks like. */
export interface DetectedArchitecture {
  /** Registry name (`resnet50`, `mobilenet_v2`). */
  name: string;
  /** For messages: "torchvision resnet50". */
  description: string;
  /** Rows of the classifier head. */
  numClasses: number;
  /** Input channels of the first convolution. */
  inChannels: number;
  /** Name of the head's weight (`fc.weight`, `classifier.1.weight`). */
  head: string;
}

// NOTE: torchvision's ResNet depths (torchvision/models/resnet.py): blocks per stage and block type.
const RESNETS: readonly [string, boolean, string][] = [
  ['resnet18', false, '2,2,2,2'], ['resnet34', false, '3,4,6,3'], ['resnet50', true, '3,4,6,3'],
  ['resnet101', true, '3,4,23,3'], ['resnet152', true, '3,8,36,3'],
];

function blockCount(keys: string[], prefix: string): number {
  let count = 0;
  const pattern = new RegExp(`^${prefix.replace('.', '\\.')}\\.(\\d+)\\.`);
  for (const key of keys) {
    const match = pattern.exec(key);
    if (match) count = Math.max(count, Number(match[1]) + 1);
  }
  return count;
}

function detectResNet(source: ShapeSource, keys: Set<string>): DetectedArchitecture | undefined {
  if (!keys.has('conv1.weight') || !keys.has('fc.weight') || !keys.has('layer1.0.conv1.weight')) return undefined;
  const stem = source.shape('conv1.weight');
  const head = source.shape('fc.weight');
  if (stem.length !== 4 || stem[0] !== 64 || head.length !== 2) return undefined;
  const list = [...keys];
  const blocks = [1, 2, 3, 4].map((i) => blockCount(list, `layer${i}`)).join(',');
  const bottleneck = keys.has('layer1.0.conv3.weight');
  // NOTE: wide ResNets and ResNeXts share the depths; their first block's inner width tells them apart.
  const inner = source.shape('layer1.0.conv1.weight')[0];
  const grouped = bottleneck && keys.has('layer1.0.conv2.weight') && source.shape('layer1.0.conv2.weight')[1] !== inner;
  const known = RESNETS.find(([, b, depths]) => b === bottleneck && depths === blocks);
  const plain = known !== undefined && inner === 64 && !grouped;
  const name = plain ? known[0] : `resnet-like (blocks [${blocks}], ${bottleneck ? 'bottleneck' : 'basic'} blocks, width ${inner}${grouped ? ', grouped' : ''})`;
  return { name, description: plain ? `torchvision ${name}` : `a ${name}`, numClasses: head[0], inChannels: stem[1], head: 'fc.weight' };
}

function detectMobileNetV2(source: ShapeSource, keys: Set<string>): DetectedArchitecture | undefined {
  const head = 'classifier.1.weight';
  if (!keys.has('features.0.0.weight') || !keys.has('features.1.conv.0.0.weight') || !keys.has(head)) return undefined;
  const stem = source.shape('features.0.0.weight');
  const classifier = source.shape(head);
  const blocks = blockCount([...keys], 'features');
  if (stem.length !== 4 || classifier.length !== 2) return undefined;
  const standard = blocks === 19 && stem[0] === 32 && classifier[1] === 1280;
  const name = standard ? 'mobilenet_v2' : `mobilenet_v2-like (${blocks} feature blocks, stem width ${stem[0]})`;
  return { name, description: standard ? 'torchvision mobilenet_v2' : `a ${name}`, numClasses: classifier[0], inChannels: stem[1], head };
}

/**
 * The torchvision architecture (ResNet-18/34/50/101/152, MobileNetV2) whose names and shapes a
 * state dict has, or undefined. Variants (other widths, depths) get a descriptive, unregistered name.
 */
export function detectArchitecture(source: ShapeSource): DetectedArchitecture | undefined {
  const keys = new Set(source.keys());
  return detectResNet(source, keys) ?? detectMobileNetV2(source, keys);
}
