/** The small classic models: the Keras MNIST CNN and a multilayer perceptron. */
import { Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../nn/index.js';

/** Input geometry of a model: channels, height, width. */
export interface InputShape {
  channels: number;
  height: number;
  width: number;
}

/**
 * The classic Keras MNIST CNN: conv 24 3x3 same + relu, maxpool 2, conv 36 3x3 same + relu,
 * maxpool 2, flatten, dense 128 + relu, dropout 0.5, dense `numClasses`.
 */
export function mnistCnn(numClasses = 10, input: InputShape = { channels: 1, height: 28, width: 28 }): Sequential {
  const flat = 36 * Math.floor(Math.floor(input.height / 2) / 2) * Math.floor(Math.floor(input.width / 2) / 2);
  return new Sequential(
    new Conv2d(input.channels, 24, 3, { padding: 'same' }), new ReLU(), new MaxPool2d(2),
    new Conv2d(24, 36, 3, { padding: 'same' }), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Linear(flat, 128), new ReLU(), new Dropout(0.5), new Linear(128, numClasses),
  );
}

/** A multilayer perceptron: flatten, then dense + relu per hidden size, then dense `numClasses`. */
export function mlp(numClasses = 10, input: InputShape = { channels: 1, height: 28, width: 28 }, hidden: number[] = [256, 128]): Sequential {
  const layers = [new Flatten()] as ConstructorParameters<typeof Sequential>;
  let width = input.channels * input.height * input.width;
  for (const size of hidden) {
    layers.push(new Linear(width, size), new ReLU());
    width = size;
  }
  layers.push(new Linear(width, numClasses));
  return new Sequential(...layers);
}
