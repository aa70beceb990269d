/** Test helpers for ONNX export: batch-norm statistics worth folding, and Kestrel vs onnxruntime on one batch. */
import assert from 'node:assert/strict';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { type Tensor, noGrad, tidy } from '../../src/tensor/index.js';
import { BatchNorm1d, BatchNorm2d, type Module } from '../../src/nn/index.js';
import { exportOnnx } from '../../src/io/index.js';

/** Random batch-norm statistics and shifts (of a trained network's size), so folding has something to fold. */
export function perturbBatchNorms(model: Module): void {
  noGrad(() => {
    for (const [, m] of model.namedModules()) {
      if (m instanceof BatchNorm2d || m instanceof BatchNorm1d) {
        m.running_mean!.uniform_(-0.2, 0.2);
        m.running_var!.uniform_(0.7, 1.3);
        m.bias!.uniform_(-0.1, 0.1);
      }
    }
  });
}

/** Row-wise softmax of [rows, cols] logits. */
export function softmaxRows(logits: Float32Array, cols: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let r = 0; r < logits.length / cols; r++) {
    const row = logits.subarray(r * cols, (r + 1) * cols);
    const max = Math.max(...row);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += (out[r * cols + c] = Math.exp(row[c] - max));
    for (let c = 0; c < cols; c++) out[r * cols + c] /= sum;
  }
  return out;
}

/**
 * Kestrel's eval-mode output and onnxruntime's on the same batch (run whole, then its first sample alone:
 * the batch is dynamic); returns the largest absolute difference of the logits and of their softmax, and the
 * largest logit's size (float32 rounding grows with it).
 */
export async function compare(model: Module, x: Tensor, inputShape: number[]): Promise<{ diff: number; probDiff: number; scale: number; folded: number }> {
  model.eval();
  const { bytes, folded } = exportOnnx(model, { inputShape, classes: ['a', 'b'] });
  const session = await InferenceSession.create(bytes);
  const expected = noGrad(() => tidy(() => model.forward(x).toArray() as Float32Array));
  const cols = expected.length / x.shape[0];
  const expectedProbs = softmaxRows(expected, cols);
  let diff = 0;
  let probDiff = 0;
  for (const batch of [x.shape[0], 1]) {
    const data = (x.toArray() as Float32Array).subarray(0, batch * inputShape.reduce((a, b) => a * b, 1));
    const { logits } = await session.run({ input: new OrtTensor('float32', data, [batch, ...inputShape]) });
    const got = logits.data as Float32Array;
    assert.equal(got.length, cols * batch);
    const probs = softmaxRows(got, cols);
    for (let i = 0; i < got.length; i++) {
      diff = Math.max(diff, Math.abs(got[i] - expected[i]));
      probDiff = Math.max(probDiff, Math.abs(probs[i] - expectedProbs[i]));
    }
  }
  return { diff, probDiff, scale: Math.max(...Array.from(expected, Math.abs)), folded };
}
