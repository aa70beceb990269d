/** Kestrel's tensor engine: libtorch tensors with deterministic memory and autograd. */
export { Tensor, type TensorLike, op, opMany } from './tensor.js';
export type { DType, TypedArrayFor, AnyTypedArray } from './dtype.js';
export { isFloating } from './dtype.js';
export * from './creation.js';
export * from './ops.js';
export * from './autograd.js';
export * from './random.js';
export * as functional from './functional.js';
export { tidy, keep, dispose, memory, emptyCache, type MemoryInfo } from './scope.js';
export { runtimeInfo, setNumThreads, cudaAvailable } from './runtime.js';
export { saveSafetensors, loadSafetensors, encodeSafetensors, decodeSafetensors, type NamedTensors, type Safetensors } from './safetensors.js';
export { openSafetensors, type SafetensorsReader } from './safetensors.js';
export { tensorFromRawBytes, rawElementBytes, loadedDType, swapByteOrder, type RawDType } from './raw-bytes.js';
export { readExactly, openForReading } from './read-at.js';
export { SAFETENSORS_DTYPES, type SafetensorsDType } from './safetensors-header.js';
export { writeFileAtomic, writeTextFileAtomic } from './atomic.js';
export { saveOptimizerState, loadOptimizerState, type OptimizerState, OPTIMIZER_FORMAT } from './optimizer-state.js';
