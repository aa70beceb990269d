/** Tensors from raw little-endian element bytes, as weight files store them (safetensors, torch.save). */
import { type DType, dtypeCode } from './dtype.js';
import { tensor } from './creation.js';
import { tidy } from './scope.js';
import { type Tensor, op } from './tensor.js';

/** An element type found in weight files: a Kestrel dtype, or bfloat16 (loaded widened to float32). */
export type RawDType = DType | 'bfloat16';

const ELEMENT_BYTES: Record<RawDType, number> = {
  float64: 8, float32: 4, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** Bytes per element of a raw dtype. */
export function rawElementBytes(dtype: RawDType): number {
  return ELEMENT_BYTES[dtype];
}

/** The Kestrel dtype a raw dtype loads as (bfloat16 widens exactly to float32). */
export function loadedDType(dtype: RawDType): DType {
  return dtype === 'bfloat16' ? 'float32' : dtype;
}

/** Reverses the bytes of every `size`-byte element in place (big-endian <-> little-endian). */
export function swapByteOrder(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i + size <= bytes.byteLength; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a]; bytes[a] = bytes[b]; bytes[b] = t;
    }
  }
}

function widenBFloat16(bytes: Uint8Array): Float32Array {
  const bits = new Uint32Array(bytes.byteLength / 2);
  for (let i = 0; i < bits.length; i++) bits[i] = ((bytes[2 * i] | (bytes[2 * i + 1] << 8)) << 16) >>> 0;
  return new Float32Array(bits.buffer);
}

/**
 * A tensor of `shape` from little-endian element bytes (copied once into libtorch). bfloat16
 * widens to float32; bool bytes other than 0/1 are an error naming `what` (e.g. "file 'x': tensor 'w'").
 */
export function tensorFromRawBytes(bytes: Uint8Array, dtype: RawDType, shape: number[], what: string): Tensor {
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.byteLength !== count * ELEMENT_BYTES[dtype]) {
    throw new Error(`${what}: shape [${shape.join(', ')}] of ${dtype} needs ${count * ELEMENT_BYTES[dtype]} bytes, got ${bytes.byteLength}`);
  }
  if (dtype === 'bfloat16') return tensor(widenBFloat16(bytes), shape);
  if (dtype === 'bool') {
    const bad = bytes.findIndex((b) => b > 1);
    if (bad >= 0) throw new Error(`${what} holds byte ${bytes[bad]} at element ${bad} (must be 0 or 1)`);
  }
  // NOTE: one copy into libtorch: the bytes become a uint8 tensor which is reinterpreted in place
  // (aten::view.dtype) and reshaped, so unaligned views into a larger buffer work too.
  return tidy(() => {
    const raw = tensor(bytes, [bytes.byteLength], { dtype: 'uint8' });
    const typed = dtype === 'uint8' ? raw : op('aten::view', 'dtype', [raw.handle, dtypeCode(dtype)]);
    return typed.reshape(shape);
  });
}
