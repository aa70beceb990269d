/**
 * Reading PyTorch `torch.save` files (`.pth`, `.pt`) in TypeScript, safely: the pickle is decoded
 * as data and read against an allow-list (nothing is ever executed), tensors are rebuilt from
 * their storages with libtorch's as_strided, so views and shared storages come out as saved.
 */
import { closeSync } from 'node:fs';
import { type DType, type Tensor, loadedDType, op, openForReading, rawElementBytes, swapByteOrder, tensorFromRawBytes } from '../tensor/index.js';
import type { PickleLimits } from './pickle.js';
import type { StorageRef, TensorRecord } from './torch-pickle.js';
import { type TorchContainer, openTorchZip, readMagic, readTorchLegacy, readWhole } from './torch-layout.js';
import { findStateDict } from './torch-state-dict.js';
import { type WeightSource, unknownWeight } from './weight-source.js';

/** Options of {@link openTorchFile}: limits on the pickle (defaults suit any real state dict). */
export type TorchFileOptions = PickleLimits;

/** A torch.save file opened as a {@link WeightSource}: its state dict's tensors, read on demand. */
export class TorchFile implements WeightSource {
  /** Storage tensors kept while names that use them are still to be read. */
  private readonly cache = new Map<string, Tensor>();
  private readonly pending = new Map<string, Set<string>>();
  private closed = false;

  /** Use {@link openTorchFile}. */
  constructor(
    /** "PyTorch file '<path>'". */
    readonly label: string,
    private readonly container: TorchContainer,
    private readonly tensors: Map<string, TensorRecord>,
    /** Checkpoint keys followed to the state dict (e.g. ['state_dict']; empty when plain). */
    readonly checkpointPath: string[],
    /** Prefixes removed from every name (e.g. ['module.'] for DataParallel). */
    readonly strippedPrefixes: string[],
    /** Entries of the state dict that are not tensors (left out). */
    readonly ignored: string[],
  ) {
    for (const [name, record] of tensors) {
      const names = this.pending.get(record.storage.key) ?? new Set<string>();
      names.add(name);
      this.pending.set(record.storage.key, names);
    }
  }

  /** 'zip' (PyTorch >= 1.6) or 'legacy' (`_use_new_zipfile_serialization=False`). */
  get format(): 'zip' | 'legacy' { return this.container.format; }

  private find(name: string): TensorRecord {
    return this.tensors.get(name) ?? unknownWeight(this.label, name);
  }

  /** Tensor names in the file's order. */
  keys(): string[] { return [...this.tensors.keys()]; }
  /** Whether the state dict has this name. */
  has(name: string): boolean { return this.tensors.has(name); }
  /** Shape of a tensor. */
  shape(name: string): number[] { return [...this.find(name).size]; }
  /** dtype get() returns (bfloat16 is widened to float32). */
  dtype(name: string): DType { return loadedDType(this.find(name).storage.dtype); }
  /** The file's element type of a tensor (may be 'bfloat16'). */
  storedDType(name: string): string { return this.find(name).storage.dtype; }

  /**
   * Reads a tensor (the caller disposes it). Like torch.load, tensors that shared a storage
   * when saved share memory again: the storage is read once and kept until all of them are read.
   */
  get(name: string): Tensor {
    if (this.closed) throw new Error(`${this.label} is closed`);
    const record = this.find(name);
    const key = record.storage.key;
    const storage = this.cache.get(key) ?? this.readStorage(record.storage);
    const waiting = this.pending.get(key);
    waiting?.delete(name);
    const keepStorage = waiting !== undefined && waiting.size > 0;
    try {
      return op('aten::as_strided', '', [storage.handle, record.size, record.stride, record.offset]);
    } finally {
      if (keepStorage) this.cache.set(key, storage);
      else {
        this.cache.delete(key);
        storage.dispose();
      }
    }
  }

  private readStorage(ref: StorageRef): Tensor {
    let bytes = this.container.readStorage(ref);
    if (this.container.bigEndian && rawElementBytes(ref.dtype) > 1) {
      bytes = bytes.slice();
      swapByteOrder(bytes, rawElementBytes(ref.dtype));
    }
    return tensorFromRawBytes(bytes, ref.dtype, [ref.numel], `${this.label}: storage '${ref.key}'`);
  }

  /** Frees cached storages and closes the file. */
  close(): void {
    for (const t of this.cache.values()) t.dispose();
    this.cache.clear();
    this.container.close();
    this.closed = true;
  }
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Opens a torch.save file (zip or legacy format) and finds its state dict: plain, inside a
 * checkpoint (`state_dict`, `model_state_dict`, `model`), with `module.` prefixes removed.
 * Any global outside the state-dict allow-list is refused with an error naming it; nothing runs.
 */
export async function openTorchFile(path: string, options: TorchFileOptions = {}): Promise<TorchFile> {
  const label = `PyTorch file '${path}'`;
  const fd = openForReading(path, label);
  let container: TorchContainer;
  let fdOpen = true;
  const closeFd = (): void => { if (fdOpen) closeSync(fd); fdOpen = false; };
  try {
    const head = readMagic(fd, 4);
    if (head.byteLength === 4 && head[0] === 0x50 && head[1] === 0x4b) container = await openTorchZip(fd, label, options);
    else if (head.byteLength >= 2 && head[0] === 0x80) {
      // NOTE: the legacy format is read whole (storages follow the pickles back to back); it is
      // only found in files from PyTorch < 1.6 or saved with _use_new_zipfile_serialization=False.
      const bytes = readWhole(fd, label);
      closeFd();
      container = readTorchLegacy(bytes, label, options);
    } else throw new Error(`${label} is not a torch.save file: it starts with bytes ${hex(head) || '(none: the file is empty)'} (expected a zip archive or a pickle)`);
  } catch (error) {
    closeFd();
    // NOTE: file-system errors (a directory, an I/O error) come without the file's name.
    const message = (error as Error).message;
    throw message.includes(label) ? error : new Error(`cannot read ${label}: ${message}`, { cause: error });
  }
  try {
    const found = findStateDict(container.pickle.value, label);
    return new TorchFile(label, container, found.tensors, found.path, found.strippedPrefixes, found.ignored);
  } catch (error) {
    container.close();
    throw error;
  }
}
