/** Shared helpers for the parity tests: table-driven comparisons against reference PyTorch. */
import assert from 'node:assert/strict';
import type { Tensor } from '../../src/tensor/index.js';
import { assertClose, runTorch } from '../helpers/torch.js';

/** Tolerances for one comparison. */
export interface Tolerance {
  rtol?: number;
  atol?: number;
}

/** One parity case: a name, Kestrel's computation, and the Python expression for PyTorch's. */
export type Case = [name: string, ours: () => Tensor, python: string];

/**
 * Asserts that every tensor in `expected` has a same-named, same-dtype, close tensor in
 * `actual` (and that neither side has extra names, so no case is silently skipped).
 */
export function assertAllClose(actual: Record<string, Tensor>, expected: Record<string, Tensor>, tolerance: Tolerance = {},
  overrides: Record<string, Tolerance> = {}): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), 'Kestrel and PyTorch computed different case names');
  for (const [name, want] of Object.entries(expected)) {
    const got = actual[name];
    assert.equal(got.dtype, want.dtype, `${name}: dtype ${got.dtype}, PyTorch gives ${want.dtype}`);
    assertClose(got, want, { ...tolerance, ...overrides[name], label: name });
  }
}

/**
 * Runs every case: Kestrel's side here, PyTorch's side in one Python call (`prelude` sets up
 * variables from `inp`), then compares all results. Call inside tidy().
 */
export function checkCases(cases: Case[], inputs: Record<string, Tensor>, prelude: string, tolerance: Tolerance = {},
  overrides: Record<string, Tolerance> = {}): void {
  const names = new Set<string>();
  for (const [name] of cases) {
    assert.ok(!names.has(name), `duplicate case name ${name}`);
    names.add(name);
  }
  const actual: Record<string, Tensor> = {};
  for (const [name, ours] of cases) actual[name] = ours();
  const script = pythonScript(prelude, cases.map(([name, , python]) => `out[${JSON.stringify(name)}] = ${python}`).join('\n'));
  assertAllClose(actual, runTorch(script, inputs), tolerance, overrides);
}

function dedentLines(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim());
  const min = Math.min(...lines.map((l) => l.match(/^ */)![0].length));
  return lines.map((l) => l.slice(min)).join('\n');
}

/** Joins separately indented Python snippets into one script, after PY_MESSAGE's helpers. */
export function pythonScript(...parts: string[]): string {
  return [PY_MESSAGE, ...parts].map(dedentLines).join('\n');
}

/**
 * Python source defining `message(fn)`: the text of the exception `fn` raises, as a uint8
 * tensor (empty when it does not raise), and `text(s)`. Decode with `decodeMessage`.
 */
const PY_MESSAGE = `
def message(fn):
    try:
        fn()
    except Exception as e:
        return torch.tensor(list(str(e).encode()), dtype=torch.uint8)
    return torch.zeros(0, dtype=torch.uint8)
def text(s):
    return torch.tensor(list(s.encode()), dtype=torch.uint8)
`;

/** Decodes a uint8 tensor of UTF-8 bytes made by PY_MESSAGE's helpers. */
export function decodeMessage(t: Tensor): string {
  return Buffer.from(t.toArray() as Uint8Array).toString('utf8');
}

/** The message of the error `fn` throws (fails the test if it throws none or a non-Error). */
export function errorMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof Error, `expected an Error, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected an error');
}
