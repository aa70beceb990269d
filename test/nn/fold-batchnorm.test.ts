import test from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, manualSeed, maxAbsDiff, noGrad, randn, tidy } from '../../src/tensor/index.js';
import {
  BatchNorm2d, BatchNormFolder, Conv2d, GraphModel, type Module, ReLU, Sequential, add, convBatchNormPairs, foldBatchNorm, input,
} from '../../src/nn/index.js';
import { BasicBlock, resnet18 } from '../../src/vision/resnet.js';

/** Moves batch-norm statistics and affine parameters away from their initial values. */
function settle(model: Module, input: number[]): void {
  model.train();
  noGrad(() => tidy(() => { for (let i = 0; i < 2; i++) model.forward(randn(input).mul(2).add(0.5)); }));
  noGrad(() => {
    for (const [, m] of model.namedModules()) {
      if (m instanceof BatchNorm2d) { m.weight!.uniform_(0.5, 1.5); m.bias!.normal_(0, 0.3); }
    }
  });
  model.eval();
}

const evalOutput = (model: Module, x: Tensor): Tensor => noGrad(() => model.forward(x));

test('folding a Sequential conv+BN chain gives the same eval outputs within 1e-5', () => {
  manualSeed(11);
  tidy(() => {
    const model = new Sequential(
      new Conv2d(3, 8, 3, { padding: 1 }), new BatchNorm2d(8), new ReLU(),
      new Conv2d(8, 6, 3, { bias: false }), new BatchNorm2d(6),
    );
    settle(model, [4, 3, 9, 9]);
    const x = randn([2, 3, 9, 9]);
    const plain = evalOutput(model, x);
    const folder = new BatchNormFolder(model);
    assert.equal(folder.size, 2);
    const folded = folder.run(() => evalOutput(model, x));
    assert.ok(maxAbsDiff(plain, folded) <= 1e-5, `max difference ${maxAbsDiff(plain, folded)}`);
    assert.equal(maxAbsDiff(evalOutput(model, x), plain), 0, 'outside run() the model is untouched');
    folder.release();
  });
});

test('ResNet-18 declares its pairs: 20 folded, logits within 1e-5, refolded after the weights change', () => {
  manualSeed(12);
  tidy(() => {
    const model = resnet18(10);
    settle(model, [2, 3, 16, 16]);
    const x = randn([2, 3, 16, 16]);
    const folder = new BatchNormFolder(model);
    assert.equal(folder.size, 20, 'stem + 16 block convolutions + 3 downsample projections');
    const check = (label: string) => {
      const plain = evalOutput(model, x);
      const folded = folder.run(() => evalOutput(model, x));
      assert.ok(maxAbsDiff(plain, folded) <= 1e-5, `${label}: max difference ${maxAbsDiff(plain, folded)}`);
    };
    check('first fold');
    noGrad(() => { (model.layer2[0] as BasicBlock).bn1.running_mean!.add_(0.25); model.fc.weight.mul_(1.5); });
    check('after an in-place change of a running mean (version counter)');
    noGrad(() => model.conv1.weight.mul_(0.5));
    check('after a convolution weight changed');
    // in training mode the fold is ignored (batch norm needs batch statistics)
    model.train();
    manualSeed(1);
    const trained = noGrad(() => model.forward(x));
    manualSeed(1);
    const trainedFolded = folder.run(() => noGrad(() => model.forward(x)));
    assert.equal(maxAbsDiff(trained, trainedFolded), 0);
    folder.release();
    model.dispose();
  });
});

test('foldBatchNorm stays until restore(); only convolutions feeding a batch norm with running statistics fold', () => {
  manualSeed(13);
  tidy(() => {
    const model = new Sequential(
      new Conv2d(3, 4, 1), new BatchNorm2d(4, { trackRunningStats: false }),
      new Conv2d(4, 4, 1), new ReLU(), new BatchNorm2d(4),
      new Conv2d(4, 5, 1), new BatchNorm2d(5),
    );
    assert.deepEqual(convBatchNormPairs(model).map(([c, b]) => [model.layers.indexOf(c), model.layers.indexOf(b)]), [[5, 6]]);
    settle(model, [3, 3, 4, 4]);
    const x = randn([2, 3, 4, 4]);
    const plain = evalOutput(model, x);
    const fold = foldBatchNorm(model);
    assert.equal(fold.pairs, 1);
    assert.ok(maxAbsDiff(evalOutput(model, x), plain) <= 1e-5);
    const inner = new BatchNormFolder(model);
    inner.run(() => assert.ok(maxAbsDiff(evalOutput(model, x), plain) <= 1e-5, 'a nested fold leaves the outer one in place'));
    assert.ok((model[5] as Conv2d).hasEvalWeights, 'the outer fold is still installed');
    inner.release();
    fold.restore();
    assert.equal((model[5] as Conv2d).hasEvalWeights, false);
    assert.equal(maxAbsDiff(evalOutput(model, x), plain), 0);
  });
});

test('graph models fold a convolution whose output only feeds a batch norm (not one read twice)', () => {
  manualSeed(14);
  tidy(() => {
    const inputs = input([3, 8, 8]);
    const c1 = new Conv2d(3, 4, 3, { padding: 'same' }).apply(inputs);
    const r1 = new ReLU().apply(new BatchNorm2d(4).apply(c1));
    const c2 = new Conv2d(4, 4, 3, { padding: 'same' }).apply(r1);
    const model = new GraphModel({ inputs, outputs: add(new BatchNorm2d(4).apply(c2), c2) });
    const pairs = convBatchNormPairs(model);
    assert.deepEqual(pairs.map(([c, b]) => [c.name, b.name]), [['conv2d', 'batch_norm2d']]);
    settle(model, [4, 3, 8, 8]);
    const x = randn([2, 3, 8, 8]);
    const plain = evalOutput(model, x);
    const folder = new BatchNormFolder(model);
    const folded = folder.run(() => evalOutput(model, x));
    assert.ok(maxAbsDiff(plain, folded) <= 1e-5, `max difference ${maxAbsDiff(plain, folded)}`);
    folder.release();
  });
});

test('a convolution subclass that changes forward (a fused activation) is not folded unless it says canFoldBatchNorm', () => {
  class ConvRelu extends Conv2d {
    override forward(x: Tensor): Tensor { return super.forward(x).relu(); }
  }
  class LinearConv extends ConvRelu {
    readonly canFoldBatchNorm = true;
    override forward(x: Tensor): Tensor { return Conv2d.prototype.forward.call(this, x); }
  }
  class ShiftedNorm extends BatchNorm2d {
    override forward(x: Tensor): Tensor { return super.forward(x).add(1); }
  }
  manualSeed(15);
  tidy(() => {
    const model = new Sequential(new ConvRelu(3, 4, 1), new BatchNorm2d(4), new LinearConv(4, 4, 1), new BatchNorm2d(4), new Conv2d(4, 4, 1), new ShiftedNorm(4));
    assert.deepEqual(convBatchNormPairs(model).map(([c]) => model.layers.indexOf(c)), [2]);
    settle(model, [3, 3, 4, 4]);
    const x = randn([2, 3, 4, 4]);
    const folder = new BatchNormFolder(model);
    assert.ok(maxAbsDiff(folder.run(() => evalOutput(model, x)), evalOutput(model, x)) <= 1e-5);
    folder.release();
  });
});
