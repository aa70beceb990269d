import test from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, randn, tidy } from '../../src/tensor/index.js';
import { assertClose, runTorch, skipWithoutTorch } from '../helpers/torch.js';

test('seeded randn matches torch.manual_seed + torch.randn', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    manualSeed(123);
    const ours = randn([3, 4]);
    const { x } = runTorch(`
      torch.manual_seed(123)
      out['x'] = torch.randn(3, 4)
    `);
    assertClose(ours, x, { rtol: 0, atol: 0 });
    assert.equal(ours.dtype, 'float32');
  });
});
