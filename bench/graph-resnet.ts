/** ResNet-18 written as a graph model (functional API), for measuring what GraphModel costs against the hand-written ResNet. */
import { BatchNorm2d, Conv2d, GlobalAvgPool2d, GraphModel, Linear, MaxPool2d, ReLU, type SymbolicTensor, add, input } from '../src/nn/index.js';

const convBn = (x: SymbolicTensor, out: number, kernel: number, stride: number) =>
  new BatchNorm2d(out).apply(new Conv2d(x.shape[1]!, out, kernel, { stride, padding: (kernel - 1) / 2, bias: false }).apply(x));

/** Two 3x3 convolutions and a skip connection (torchvision's BasicBlock), out of place. */
function basicBlock(x: SymbolicTensor, planes: number, stride: number): SymbolicTensor {
  const y = convBn(new ReLU().apply(convBn(x, planes, 3, stride)), planes, 3, 1);
  const shortcut = stride !== 1 || x.shape[1] !== planes ? convBn(x, planes, 1, stride) : x;
  return new ReLU().apply(add(y, shortcut));
}

/** torchvision's ResNet-18 layout for `size`-pixel RGB images as a GraphModel. */
export function resnet18Graph(numClasses: number, size: number): GraphModel {
  const inputs = input([3, size, size]);
  let x = new MaxPool2d(3, { stride: 2, padding: 1 }).apply(new ReLU().apply(convBn(inputs, 64, 7, 2)));
  for (const [i, planes] of [64, 128, 256, 512].entries()) {
    x = basicBlock(basicBlock(x, planes, i === 0 ? 1 : 2), planes, 1);
  }
  return new GraphModel({ inputs, outputs: new Linear(512, numClasses).apply(new GlobalAvgPool2d().apply(x)), name: 'resnet18' });
}
