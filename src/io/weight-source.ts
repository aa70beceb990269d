/**
 * WeightSource: one interface over every file of named tensors Kestrel reads (torch.save files,
 * safetensors, TF.js weights, tensors in memory), with renaming on top (candle's VarBuilder idea).
 */
import { type DType, type Tensor, openSafetensors, SAFETENSORS_DTYPES } from '../tensor/index.js';

/** Named tensors read on demand. */
export interface WeightSource {
  /** What the weights are, for messages (e.g. "PyTorch file 'resnet18.pth'"). */
  readonly label: string;
  /** Every tensor name, in the source's order. */
  keys(): string[];
  /** Whether a tensor of that name exists. */
  has(name: string): boolean;
  /** The shape of a tensor (without reading it). */
  shape(name: string): number[];
  /** The dtype get() returns for a tensor. */
  dtype(name: string): DType;
  /** Reads one tensor; the caller disposes it. */
  get(name: string): Tensor;
  /** Releases files and caches (the tensors already returned stay valid). */
  close(): void;
}

/** Throws the error of a name the source lacks. */
export function unknownWeight(label: string, name: string): never {
  throw new Error(`${label} has no tensor '${name}'`);
}

/**
 * A WeightSource over tensors in memory. get() returns a new handle sharing the tensor's memory
 * (detached from autograd); the tensors stay the caller's unless `owned`, then close() frees them.
 */
export function weightsFromTensors(tensors: Map<string, Tensor> | Record<string, Tensor>, options: { label?: string; owned?: boolean } = {}): WeightSource {
  const map = tensors instanceof Map ? tensors : new Map(Object.entries(tensors));
  const label = options.label ?? 'tensors in memory';
  const find = (name: string): Tensor => map.get(name) ?? unknownWeight(label, name);
  return {
    label,
    keys: () => [...map.keys()],
    has: (name) => map.has(name),
    shape: (name) => find(name).shape,
    dtype: (name) => find(name).dtype,
    get: (name) => find(name).detach(),
    close: () => { if (options.owned) for (const t of map.values()) t.dispose(); },
  };
}

/** A WeightSource over a safetensors file, read one tensor at a time (BF16 loads as float32). */
export function openSafetensorsWeights(path: string): WeightSource {
  const reader = openSafetensors(path);
  const entries = new Map(reader.entries.map((e) => [e.name, e]));
  const label = `safetensors file '${path}'`;
  const find = (name: string) => entries.get(name) ?? unknownWeight(label, name);
  return {
    label,
    keys: () => [...entries.keys()],
    has: (name) => entries.has(name),
    shape: (name) => [...find(name).shape],
    dtype: (name) => SAFETENSORS_DTYPES[find(name).format].dtype,
    get: (name) => { find(name); return reader.read(name); },
    close: () => reader.close(),
  };
}

/** A renaming rule: regular expression (a string is compiled as one) and its replacement ($1 works). */
export type RenameRule = readonly [pattern: RegExp | string, replacement: string];

/** How to rename a source's tensors (applied in this order: stripPrefix, rename, addPrefix). */
export interface RemapOptions {
  /** Removed from names that start with it (several: the first that matches). */
  stripPrefix?: string | readonly string[];
  /** A function (null, undefined or '' drops the tensor) or rules applied one after another. */
  rename?: ((name: string) => string | null | undefined) | readonly RenameRule[];
  /** Put in front of every name. */
  addPrefix?: string;
}

/** The new name of `name` under `options` (null: dropped). */
export function remapName(name: string, options: RemapOptions): string | null {
  let out = name;
  const strip = typeof options.stripPrefix === 'string' ? [options.stripPrefix] : options.stripPrefix ?? [];
  const prefix = strip.find((p) => p !== '' && out.startsWith(p));
  if (prefix !== undefined) out = out.slice(prefix.length);
  const { rename } = options;
  if (typeof rename === 'function') {
    const renamed = rename(out);
    if (renamed === null || renamed === undefined || renamed === '') return null;
    out = renamed;
  } else if (rename !== undefined) {
    for (const [pattern, replacement] of rename) out = out.replace(typeof pattern === 'string' ? new RegExp(pattern) : pattern, replacement);
    if (out === '') return null;
  }
  return (options.addPrefix ?? '') + out;
}

/**
 * A view of `source` under new names (timm/Hugging Face names to Kestrel's, prefixes added or
 * removed). Two tensors renamed to one name are an error naming both. close() closes `source`.
 */
export function remapWeights(source: WeightSource, options: RemapOptions): WeightSource {
  const toSource = new Map<string, string>();
  for (const name of source.keys()) {
    const renamed = remapName(name, options);
    if (renamed === null) continue;
    const clash = toSource.get(renamed);
    if (clash !== undefined) throw new Error(`${source.label}: renaming maps both '${clash}' and '${name}' to '${renamed}'`);
    toSource.set(renamed, name);
  }
  const original = (name: string): string => toSource.get(name) ?? unknownWeight(`${source.label} (renamed)`, name);
  return {
    label: source.label,
    keys: () => [...toSource.keys()],
    has: (name) => toSource.has(name),
    shape: (name) => source.shape(original(name)),
    dtype: (name) => source.dtype(original(name)),
    get: (name) => source.get(original(name)),
    close: () => source.close(),
  };
}
