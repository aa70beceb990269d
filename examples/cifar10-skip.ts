/**
 * The "toy ResNet" for CIFAR-10 from Keras's functional API guide, as a Kestrel graph model.
 * CIFAR-10 can't be downloaded everywhere, so it trains one short epoch on synthetic colour images
 * (10 classes of noisy colours). Run: `node dist/examples/cifar10-skip.js [samples]` (default 1000).
 */
import { type Tensor, nn, DataLoader, Learner, TensorDataset, manualSeed, rand, randint, randn, tidy } from '../src/index.js';

/** A 3x3 convolution with ReLU whose input channels come from the symbolic tensor. */
const conv = (x: nn.SymbolicTensor, filters: number, padding: 'same' | 'valid' = 'valid') =>
  new nn.ReLU().apply(new nn.Conv2d(x.shape[1]!, filters, 3, { padding }).apply(x));

/** Keras's toy ResNet: two convolutions, two residual blocks, a dense head. */
export function toyResnet(): nn.GraphModel {
  const inputs = nn.input([3, 32, 32], { name: 'img' });
  let x = conv(conv(inputs, 32), 64);
  const block1 = new nn.MaxPool2d(3).apply(x);
  x = conv(conv(block1, 64, 'same'), 64, 'same');
  const block2 = nn.add(x, block1);
  x = conv(conv(block2, 64, 'same'), 64, 'same');
  const block3 = nn.add(x, block2);
  x = new nn.GlobalAvgPool2d().apply(conv(block3, 64));
  x = new nn.Dropout(0.5).apply(new nn.ReLU().apply(new nn.Linear(64, 256).apply(x)));
  const outputs = new nn.Linear(256, 10).apply(x);
  return new nn.GraphModel({ inputs, outputs, name: 'toy_resnet' });
}

/** `n` noisy 32x32 images whose class is their colour in `palette` ([10, 3, 1, 1], values in [0, 1]). */
export function colourImages(n: number, palette: Tensor): TensorDataset {
  return tidy(() => {
    const labels = randint(0, 10, [n]);
    const images = palette.indexSelect(0, labels).expand([n, 3, 32, 32]).add(randn([n, 3, 32, 32]).mul(0.15));
    return new TensorDataset(images.clamp(0, 1).mul(255).to('uint8'), labels);
  });
}

async function main(): Promise<void> {
  const samples = Number(process.argv[2] ?? 1000);
  manualSeed(42);
  const model = toyResnet();
  model.summary();
  const palette = rand([10, 3, 1, 1]);
  const train = colourImages(samples, palette);
  const valid = colourImages(Math.max(10, Math.floor(samples / 4)), palette);
  const learn = new Learner(model, { train: new DataLoader(train, { batchSize: 64, shuffle: true, seed: 42 }), valid: new DataLoader(valid, { batchSize: 256 }) });
  await learn.fit(1, 1e-3);
  const last = learn.history.at(-1)!;
  console.log(`train loss ${last.trainLoss.toFixed(4)}, valid loss ${last.validLoss.toFixed(4)}, accuracy ${(last.metrics.accuracy * 100).toFixed(1)}%`);
}

if (process.argv[1]?.endsWith('cifar10-skip.js')) await main();
