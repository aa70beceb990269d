/** Test helper: compare two weight files tensor by tensor. */
import assert from 'node:assert/strict';
import { dispose, loadSafetensors, maxAbsDiff, tidy } from '../../src/tensor/index.js';

/** Asserts that two safetensors files hold the same names and that every tensor differs by at most `tolerance`. */
export function assertSameWeights(expectedPath: string, actualPath: string, tolerance: number): void {
  const expected = loadSafetensors(expectedPath).tensors;
  const actual = loadSafetensors(actualPath).tensors;
  try {
    assert.deepEqual([...actual.keys()], [...expected.keys()]);
    for (const [name, tensor] of expected) {
      const diff = tidy(() => maxAbsDiff(tensor, actual.get(name)!));
      assert.ok(diff <= tolerance, `${name} differs by ${diff} (tolerance ${tolerance})`);
    }
  } finally {
    dispose([...expected.values(), ...actual.values()]);
  }
}
