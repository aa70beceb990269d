import test from 'node:test';
import assert from 'node:assert/strict';
import type { FlipCheck } from '../../src/data/index.js';
import { AdamW } from '../../src/optim/index.js';
import { dispose, manualSeed, randint, randn } from '../../src/tensor/index.js';
import {
  PRESETS, describeRecipe, formatSeconds, recipeAugment, recipeLoss, recipeModel, recipeOptimizer, smallImageRecipe,
} from '../../src/vision/recipes/small-images.js';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';

const clothes: FlipCheck = { accuracy: 0.69, flippedAccuracy: 0.57, ratio: 0.83, samples: 3000, flip: true };
const digits: FlipCheck = { accuracy: 0.9, flippedAccuracy: 0.36, ratio: 0.4, samples: 1797, flip: false };
const grey28 = { inputShape: [1, 28, 28] as [number, number, number], numClasses: 10 };

test('the fast preset on Fashion-MNIST-like data: every piece, flips and TTA from the data, a 10-minute budget', () => {
  const recipe = smallImageRecipe({ ...grey28, flipCheck: clothes });
  assert.deepEqual(recipe.architecture, { name: 'small-resnet', options: { numClasses: 10, input: { channels: 1, height: 28, width: 28 }, widths: [32, 64, 128] } });
  assert.deepEqual([recipe.epochs, recipe.timeSeconds, recipe.batchSize, recipe.lr, recipe.schedule], [PRESETS.fast.epochs, 600, 256, 4e-3, 'one-cycle']);
  assert.deepEqual(recipe.optimizer, { name: 'adamw', weightDecay: 0.05 });
  assert.equal(recipe.labelSmoothing, 0.1);
  assert.deepEqual(recipe.augment, { padding: 2, flip: true, erasing: 0.5 });
  assert.equal(recipe.tta, true);
  assert.match(recipe.flipReason, /recognised 83% as well as originals .*>= 70%/);
  assert.deepEqual(recipe.overridden, []);
  const best = smallImageRecipe({ ...grey28, flipCheck: clothes }, 'best');
  assert.deepEqual([best.architecture.options.widths, best.timeSeconds], [[64, 128, 256], 1800]);
  const lines = describeRecipe(recipe).join('\n');
  for (const piece of [/small-resnet, widths 32\/64\/128/, /up to \d+ epochs within 10m \(planned after a warm-up\)/, /AdamW, weight decay 0\.05/, /one-cycle, peak lr 0\.004/,
    /label smoothing 0\.1/, /random crop \(padding 2\), horizontal flip, random erasing \(p 0\.5\)/, /flips {8}on: /, /flip-TTA/]) assert.match(lines, piece);
});

test('digit-like data: no flips, no TTA; the flags force them either way', () => {
  const recipe = smallImageRecipe({ ...grey28, flipCheck: digits });
  assert.equal(recipe.augment.flip, false);
  assert.equal(recipe.tta, false);
  assert.match(recipe.flipReason, /40% .*< 70%: mirroring changes what images mean, as for digits and text/);
  assert.match(describeRecipe(recipe).join('\n'), /augment {6}random crop \(padding 2\), random erasing/);
  const forced = smallImageRecipe({ ...grey28, flipCheck: digits }, 'fast', { flip: true });
  assert.deepEqual([forced.augment.flip, forced.tta, forced.flipReason], [true, true, 'asked for (on)']);
  const off = smallImageRecipe({ ...grey28, flipCheck: clothes }, 'fast', { flip: false });
  assert.deepEqual([off.augment.flip, off.tta], [false, false]);
  const noAugment = smallImageRecipe({ ...grey28, flipCheck: clothes }, 'fast', { augment: false });
  assert.deepEqual(noAugment.augment, { padding: 0, flip: false, erasing: 0 });
  assert.equal(noAugment.flipReason, 'augmentation is off');
  assert.equal(smallImageRecipe({ ...grey28, flipCheck: null }).augment.flip, false, 'not measured: no flips');
});

test('overrides replace their piece and are named; --epochs wins over the budget; an explicit budget has no epoch cap', () => {
  const recipe = smallImageRecipe({ ...grey28, flipCheck: clothes }, 'fast', { lr: 0.01, batchSize: 128, weightDecay: 0.01, labelSmoothing: 0, tta: false, schedule: 'flat-cos' });
  assert.deepEqual([recipe.lr, recipe.batchSize, recipe.optimizer.weightDecay, recipe.labelSmoothing, recipe.tta, recipe.schedule], [0.01, 128, 0.01, 0, false, 'flat-cos']);
  assert.deepEqual(recipe.overridden, ['lr', 'batchSize', 'weightDecay', 'labelSmoothing', 'tta', 'schedule']);
  assert.match(describeRecipe(recipe).join('\n'), /schedule {5}flat-cos \(set\), peak lr 0\.01 \(set\)/);
  const epochs = smallImageRecipe({ ...grey28, flipCheck: clothes }, 'fast', { epochs: 3, timeSeconds: 300 });
  assert.deepEqual([epochs.epochs, epochs.timeSeconds], [3, null]);
  const timed = smallImageRecipe({ ...grey28, flipCheck: clothes }, 'fast', { timeSeconds: 300 });
  assert.deepEqual([timed.epochs, timed.timeSeconds], [null, 300]);
  assert.match(describeRecipe(timed).join('\n'), /as many epochs as fit within 5m/);
  const untimed = smallImageRecipe({ ...grey28, flipCheck: clothes }, 'fast', { timeSeconds: null });
  assert.deepEqual([untimed.epochs, untimed.timeSeconds], [PRESETS.fast.epochs, null]);
  assert.throws(() => smallImageRecipe({ ...grey28, flipCheck: clothes }, 'huge' as never), /unknown preset 'huge' \(known: fast, best\)/);
  assert.deepEqual(['600', '5400', '90', '0'].map((s) => formatSeconds(Number(s))), ['10m', '1h30m', '1m30s', '0s']);
});

test('colour and larger images: the model follows the input, crop padding scales with the side, fill is black in normalised units', () => {
  const recipe = smallImageRecipe({ inputShape: [3, 64, 64], numClasses: 5, flipCheck: clothes });
  assert.equal(recipe.augment.padding, 5);
  assert.equal(smallImageRecipe({ inputShape: [3, 32, 32], numClasses: 5, flipCheck: clothes }).augment.padding, 2);
  const model = recipeModel(recipe);
  assert.deepEqual([model.inChannels, model.numClasses, model.widths], [3, 5, [32, 64, 128]]);
  const optimizer = recipeOptimizer(recipe)(model.parameters(), 0.1);
  assert.ok(optimizer instanceof AdamW);
  assert.deepEqual([optimizer.paramGroups[0].lr, optimizer.paramGroups[0].weightDecay], [0.1, 0.05]);
  optimizer.dispose();
  model.dispose();
  const options = recipeAugment(recipe, { mean: [0.5, 0.4, 0.2], std: [0.25, 0.2, 0.1] }, 9);
  assert.deepEqual(options, { padding: 5, flip: true, erasing: 0.5, fill: [-2, -2, -2], seed: 9 });
  assert.deepEqual(recipeAugment(recipe, null, 1).fill, [0, 0, 0]);
});

test("the recipe's loss equals PyTorch's CrossEntropyLoss(label_smoothing=0.1), and plain cross-entropy at 0", { skip: skipWithoutTorch() }, () => {
  manualSeed(6);
  const logits = randn([12, 10]).mul(3);
  const target = randint(0, 10, [12]);
  const smoothed = recipeLoss(smallImageRecipe({ ...grey28, flipCheck: clothes }))(logits, target);
  const plain = recipeLoss(smallImageRecipe({ ...grey28, flipCheck: clothes }, 'fast', { labelSmoothing: 0 }))(logits, target);
  const ref = runTorch(`
out['smooth'] = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(inp['z'], inp['t'])
out['plain'] = torch.nn.CrossEntropyLoss()(inp['z'], inp['t'])`, { z: logits, t: target });
  assert.ok(Math.abs(smoothed.item() - ref.smooth.item()) < 1e-6, `${smoothed.item()} vs torch ${ref.smooth.item()}`);
  assert.ok(Math.abs(plain.item() - ref.plain.item()) < 1e-6, `${plain.item()} vs torch ${ref.plain.item()}`);
  assert.ok(smoothed.item() > plain.item(), 'smoothing raises the loss of confident logits');
  dispose([logits, target, smoothed, plain, Object.values(ref)]);
});
