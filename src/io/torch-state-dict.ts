/** Finding the state dict in what a torch.save file holds: plain, wrapped in a checkpoint, or from DataParallel. */
import { TensorRecord, type TorchValue } from './torch-pickle.js';

/** Keys under which training scripts commonly store the model's state dict in a checkpoint. */
export const CHECKPOINT_KEYS: readonly string[] = ['state_dict', 'model_state_dict', 'model'];

/** Prefixes that wrappers add to every name (DataParallel / DistributedDataParallel, torch.compile). */
export const WRAPPER_PREFIXES: readonly string[] = ['module.', '_orig_mod.'];

/** The state dict found in a file. */
export interface FoundStateDict {
  /** Tensors by name (wrapper prefixes removed), in the file's order. */
  tensors: Map<string, TensorRecord>;
  /** The checkpoint keys followed to reach it (empty for a plain state dict). */
  path: string[];
  /** Prefixes removed from every name (e.g. ['module.']). */
  strippedPrefixes: string[];
  /** Names of entries that are not tensors and were left out. */
  ignored: string[];
}

function isStringMap(value: TorchValue): value is Map<string, TorchValue> {
  return value instanceof Map && [...value.keys()].every((k) => typeof k === 'string');
}

function describe(value: TorchValue): string {
  if (value instanceof TensorRecord) return 'a tensor';
  if (value instanceof Map) return `a dict of ${value.size} entries`;
  if (Array.isArray(value)) return `a list of ${value.length} items`;
  if (value instanceof Uint8Array) return 'bytes';
  return value === null ? 'None' : `a ${typeof value}`;
}

/**
 * Locates the state dict: the top-level dict when it holds tensors, else the first of
 * {@link CHECKPOINT_KEYS} that does; strips a prefix every name shares ({@link WRAPPER_PREFIXES}).
 */
export function findStateDict(root: TorchValue, label: string): FoundStateDict {
  if (!isStringMap(root)) throw new Error(`${label} holds ${describe(root)}, not a state dict (a dict of tensors by name)`);
  const path: string[] = [];
  let current = root;
  for (let level = 0; level < 3; level++) {
    if ([...current.values()].some((v) => v instanceof TensorRecord)) break;
    const key = CHECKPOINT_KEYS.find((k) => { const v = current.get(k); return v !== undefined && isStringMap(v); });
    if (key === undefined) {
      const keys = [...current.keys()];
      const shown = keys.slice(0, 10).join(', ') + (keys.length > 10 ? `, and ${keys.length - 10} more` : '');
      const where = path.length > 0 ? ` under '${path.join('.')}'` : '';
      throw new Error(`${label} holds no state dict${where}: its keys are ${shown || '(none)'}; expected tensors, or a state dict under ${CHECKPOINT_KEYS.map((k) => `'${k}'`).join(', ')}`);
    }
    path.push(key);
    current = current.get(key) as Map<string, TorchValue>;
  }
  let tensors = new Map<string, TensorRecord>();
  const ignored: string[] = [];
  for (const [name, value] of current) {
    if (value instanceof TensorRecord) tensors.set(name, value);
    else ignored.push(name);
  }
  if (tensors.size === 0) throw new Error(`${label} holds no tensors${path.length > 0 ? ` under '${path.join('.')}'` : ''}`);
  const strippedPrefixes: string[] = [];
  for (let again = true; again;) {
    again = false;
    for (const prefix of WRAPPER_PREFIXES) {
      if ([...tensors.keys()].every((name) => name.startsWith(prefix) && name.length > prefix.length)) {
        tensors = new Map([...tensors].map(([name, t]) => [name.slice(prefix.length), t]));
        strippedPrefixes.push(prefix);
        again = true;
      }
    }
  }
  return { tensors, path, strippedPrefixes, ignored };
}
