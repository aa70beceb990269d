import test from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, empty, manualSeed, tensor, tidy } from '../../src/tensor/index.js';
import { init } from '../../src/nn/index.js';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { assertAllClose, errorMessage } from '../tensor/parity.js';

test('nn.init functions draw the same numbers as torch.nn.init from the same seed', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    manualSeed(81);
    const ours: Record<string, Tensor> = {
      kaiming_uniform: init.kaimingUniform(empty([6, 4, 3, 3])),
      kaiming_uniform_a: init.kaimingUniform(empty([5, 7]), { a: Math.sqrt(5) }),
      kaiming_uniform_relu_out: init.kaimingUniform(empty([5, 7]), { mode: 'fanOut', nonlinearity: 'relu' }),
      kaiming_normal: init.kaimingNormal(empty([8, 3, 2, 2])),
      kaiming_normal_out: init.kaimingNormal(empty([8, 3]), { mode: 'fanOut', nonlinearity: 'relu' }),
      xavier: init.xavierUniform(empty([4, 9])),
      xavier_gain: init.xavierUniform(empty([4, 2, 3, 3]), init.calculateGain('tanh')),
      uniform: init.uniform(empty([10]), -0.3, 0.7),
      constant: init.constant(empty([2, 2]), 0.25),
    };
    const ref = runTorch(`
      import torch.nn.init as I
      torch.manual_seed(81)
      out['kaiming_uniform'] = I.kaiming_uniform_(torch.empty(6, 4, 3, 3))
      out['kaiming_uniform_a'] = I.kaiming_uniform_(torch.empty(5, 7), a=5 ** 0.5)
      out['kaiming_uniform_relu_out'] = I.kaiming_uniform_(torch.empty(5, 7), mode='fan_out', nonlinearity='relu')
      out['kaiming_normal'] = I.kaiming_normal_(torch.empty(8, 3, 2, 2))
      out['kaiming_normal_out'] = I.kaiming_normal_(torch.empty(8, 3), mode='fan_out', nonlinearity='relu')
      out['xavier'] = I.xavier_uniform_(torch.empty(4, 9))
      out['xavier_gain'] = I.xavier_uniform_(torch.empty(4, 2, 3, 3), gain=I.calculate_gain('tanh'))
      out['uniform'] = I.uniform_(torch.empty(10), -0.3, 0.7)
      out['constant'] = I.constant_(torch.empty(2, 2), 0.25)
      gains = [I.calculate_gain(n) for n in ['linear', 'relu', 'tanh', 'sigmoid', 'leaky_relu']] + [I.calculate_gain('leaky_relu', 0.2)]
      out['gains'] = torch.tensor(gains, dtype=torch.float64)
    `);
    const gains = tensor(['linear', 'relu', 'tanh', 'sigmoid', 'leaky_relu'].map((n) => init.calculateGain(n as 'relu')).concat(init.calculateGain('leaky_relu', 0.2)), { dtype: 'float64' });
    // NOTE: bounds are computed in float64 on both sides with the same formula, so the draws are bit-identical.
    assertAllClose({ ...ours, gains }, ref, { rtol: 0, atol: 0 });
  });
});

test('fans of weight shapes, and errors for 1-D weights', () => {
  assert.deepEqual(init.fans([8, 3, 5, 5]), { fanIn: 75, fanOut: 200 });
  assert.deepEqual(init.fans([10, 4]), { fanIn: 4, fanOut: 10 });
  assert.match(errorMessage(() => init.fans([3])), /fan in\/out needs a weight with 2\+ dims, got \[3\]/);
});
