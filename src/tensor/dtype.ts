/** Tensor element types and their typed-array counterparts. */

/** Element types Kestrel tensors can hold. */
export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool' | 'int8' | 'int16' | 'float16' | 'bfloat16';

/** Typed array type for each dtype. */
export interface TypedArrayFor {
  float32: Float32Array; float64: Float64Array; int64: BigInt64Array; int32: Int32Array;
  uint8: Uint8Array; bool: Uint8Array; int8: Int8Array; int16: Int16Array; float16: Uint16Array;
  /** Raw bfloat16 bits (the top half of a float32). */
  bfloat16: Uint16Array;
}

/** Any typed array a tensor can be read into. */
export type AnyTypedArray = TypedArrayFor[DType];

// NOTE: codes are c10::ScalarType enum values (c10/core/ScalarType.h).
const codes: Record<DType, number> = {
  uint8: 0, int8: 1, int16: 2, int32: 3, int64: 4, float16: 5, float32: 6, float64: 7, bool: 11, bfloat16: 15,
};
const names = new Map<number, DType>(Object.entries(codes).map(([name, code]) => [code, name as DType]));

/** c10 ScalarType code of a dtype. */
export function dtypeCode(dtype: DType): number {
  const code = codes[dtype];
  if (code === undefined) throw new Error(`unknown dtype '${String(dtype)}'`);
  return code;
}

/** dtype of a c10 ScalarType code. */
export function dtypeFromCode(code: number): DType {
  const name = names.get(code);
  if (name === undefined) throw new Error(`unsupported scalar type code ${code}`);
  return name;
}

/** Whether values of this dtype are floating point. */
export function isFloating(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

/** Wraps raw bytes as the typed array of a dtype. */
export function typedArrayOf<D extends DType>(dtype: D, buffer: ArrayBuffer): TypedArrayFor[D] {
  switch (dtype) {
    case 'float32': return new Float32Array(buffer) as TypedArrayFor[D];
    case 'float64': return new Float64Array(buffer) as TypedArrayFor[D];
    case 'int64': return new BigInt64Array(buffer) as TypedArrayFor[D];
    case 'int32': return new Int32Array(buffer) as TypedArrayFor[D];
    case 'int16': return new Int16Array(buffer) as TypedArrayFor[D];
    case 'int8': return new Int8Array(buffer) as TypedArrayFor[D];
    case 'float16':
    case 'bfloat16': return new Uint16Array(buffer) as TypedArrayFor[D];
    default: return new Uint8Array(buffer) as TypedArrayFor[D];
  }
}

/** The dtype a typed array maps to. */
export function dtypeOfTypedArray(data: ArrayBufferView): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return 'uint8';
  throw new Error(`unsupported typed array ${data.constructor.name}`);
}
