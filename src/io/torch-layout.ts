/**
 * The two containers of torch.save: the zip archive (PyTorch >= 1.6: `<prefix>/data.pkl`,
 * `<prefix>/data/<key>`, `<prefix>/byteorder`) and the legacy stream (pickles, then raw storages).
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { readExactly, rawElementBytes } from '../tensor/index.js';
import { type PickleLimits, decodePickle } from './pickle.js';
import { type InterpretedPickle, type StorageRef, checkTorchGlobals, interpretTorchPickle } from './torch-pickle.js';
import { type ZipRecord, readZipDirectory, readZipRecord } from './zip-records.js';

/** A torch.save file, its pickle interpreted, its storages readable. */
export interface TorchContainer {
  /** 'zip' (PyTorch >= 1.6) or 'legacy'. */
  format: 'zip' | 'legacy';
  /** The interpreted pickle and its storages. */
  pickle: InterpretedPickle;
  /** Whether storage bytes are big-endian (swapped on reading). */
  bigEndian: boolean;
  /** The raw bytes of a whole storage (numel * element size). */
  readStorage(ref: StorageRef): Uint8Array;
  /** Releases the file. */
  close(): void;
}

/** Decodes one pickle of the file, refuses foreign globals, interprets it. */
function readPickle(bytes: Uint8Array, label: string, limits: PickleLimits, start = 0): { pickle: InterpretedPickle; end: number } {
  const decoded = decodePickle(bytes, { ...limits, start, label });
  checkTorchGlobals(decoded.globals, label);
  return { pickle: interpretTorchPickle(decoded.value, label), end: decoded.end };
}

function storageBytes(ref: StorageRef): number {
  return ref.numel * rawElementBytes(ref.dtype);
}

/** Opens the zip container on `fd` (which the returned container closes). */
export async function openTorchZip(fd: number, label: string, limits: PickleLimits): Promise<TorchContainer> {
  const records = await readZipDirectory(fd, label);
  const names = [...records.keys()];
  // NOTE: TorchScript archives (torch.jit.save) also hold data.pkl, of compiled classes.
  if (names.some((n) => /^[^/]+\/(constants\.pkl|code\/)/.test(n))) {
    throw new Error(`${label} is a TorchScript archive (torch.jit.save), not a state dict: save model.state_dict() with torch.save instead`);
  }
  const pkl = names.find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkl === undefined) {
    throw new Error(`${label} is a zip archive without '<name>/data.pkl', so not a torch.save file (it holds ${names.slice(0, 5).join(', ') || 'nothing'}${names.length > 5 ? ', ...' : ''})`);
  }
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const order = records.get(`${prefix}byteorder`);
  const byteOrder = order === undefined ? 'little' : new TextDecoder().decode(readZipRecord(fd, order, label)).trim();
  if (byteOrder !== 'little' && byteOrder !== 'big') throw new Error(`${label}: ${prefix}byteorder says '${byteOrder.slice(0, 20)}' (expected 'little' or 'big')`);
  const { pickle } = readPickle(readZipRecord(fd, records.get(pkl) as ZipRecord, label), `${label} (${pkl})`, limits);
  for (const ref of pickle.storages.values()) {
    const record = records.get(`${prefix}data/${ref.key}`);
    if (record === undefined) throw new Error(`${label} has no record '${prefix}data/${ref.key}' for a storage its pickle uses (the file is incomplete)`);
    if (record.size < storageBytes(ref)) {
      throw new Error(`${label}: record '${record.name}' holds ${record.size} bytes but its storage needs ${storageBytes(ref)} (${ref.numel} ${ref.dtype})`);
    }
  }
  let open = true;
  return {
    format: 'zip',
    pickle,
    bigEndian: byteOrder === 'big',
    readStorage(ref) {
      if (!open) throw new Error(`${label} is closed`);
      const bytes = readZipRecord(fd, records.get(`${prefix}data/${ref.key}`) as ZipRecord, label);
      return bytes.byteLength === storageBytes(ref) ? bytes : bytes.subarray(0, storageBytes(ref));
    },
    close() { if (open) closeSync(fd); open = false; },
  };
}

/** torch.save's legacy magic number (a pickled int before the data). */
export const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

/**
 * Reads the legacy container from the whole file's bytes: magic number, protocol version,
 * system info, the main pickle, the sorted storage keys, then each storage as int64 count + bytes.
 */
export function readTorchLegacy(fileBytes: Uint8Array, label: string, limits: PickleLimits): TorchContainer {
  let bytes = fileBytes;
  const magic = readPickle(bytes, label, limits);
  if (magic.pickle.value !== LEGACY_MAGIC) {
    throw new Error(`${label} is a plain pickle, not a torch.save file (no torch magic number); Kestrel reads state dicts saved with torch.save`);
  }
  const protocol = readPickle(bytes, label, limits, magic.end);
  if (protocol.pickle.value !== LEGACY_PROTOCOL) throw new Error(`${label}: legacy protocol version ${String(protocol.pickle.value)} is not supported (expected ${LEGACY_PROTOCOL})`);
  const sysInfo = readPickle(bytes, label, limits, protocol.end);
  const main = readPickle(bytes, label, limits, sysInfo.end);
  const keyList = readPickle(bytes, label, limits, main.end);
  const keys = keyList.pickle.value;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw new Error(`${label}: the storage key list is not a list of strings`);
  // NOTE: the legacy writer stores counts and data little-endian whatever the machine
  // (torch/csrc/generic/serialization.cpp), so sys_info's little_endian needs no action.
  const offsets = new Map<string, number>();
  let at = keyList.end;
  for (const key of keys as string[]) {
    const ref = main.pickle.storages.get(key);
    if (ref === undefined) throw new Error(`${label}: storage '${key}' is listed but no tensor uses it`);
    if (at + 8 > bytes.byteLength) throw new Error(`${label} is truncated: storage '${key}' starts at byte ${at}, past the end (${bytes.byteLength} bytes)`);
    const count = new DataView(bytes.buffer, bytes.byteOffset + at, 8).getBigInt64(0, true);
    if (count !== BigInt(ref.numel)) throw new Error(`${label}: storage '${key}' at byte ${at} holds ${count} elements but its tensors say ${ref.numel}`);
    offsets.set(key, at + 8);
    at += 8 + storageBytes(ref);
    if (at > bytes.byteLength) throw new Error(`${label} is truncated: storage '${key}' ends at byte ${at}, past the end (${bytes.byteLength} bytes)`);
  }
  for (const key of main.pickle.storages.keys()) {
    if (!offsets.has(key)) throw new Error(`${label}: storage '${key}' is used by a tensor but missing from the file`);
  }
  let open = true;
  return {
    format: 'legacy',
    pickle: main.pickle,
    bigEndian: false,
    readStorage(ref) {
      if (!open) throw new Error(`${label} is closed`);
      const start = offsets.get(ref.key) as number;
      return bytes.subarray(start, start + storageBytes(ref));
    },
    close() { open = false; bytes = new Uint8Array(0); },
  };
}

/** The first bytes of a file (fewer when it is shorter). */
export function readMagic(fd: number, count: number): Uint8Array {
  const head = new Uint8Array(count);
  const n = readSync(fd, head, 0, count, 0);
  return head.subarray(0, n);
}

/** The whole file open as `fd`. */
export function readWhole(fd: number, label: string): Uint8Array {
  const bytes = new Uint8Array(fstatSync(fd).size);
  readExactly(fd, bytes, 0, label);
  return bytes;
}
