/** The records of a zip archive (torch.save's container), read in place from an open file. */
import { inflateRawSync } from 'node:zlib';
import yauzl from 'yauzl';
import { readExactly } from '../tensor/index.js';

/** Where one record's bytes lie in the file. */
export interface ZipRecord {
  /** Path inside the archive. */
  name: string;
  /** Uncompressed size in bytes. */
  size: number;
  /** Size as stored. */
  storedSize: number;
  /** 0 = stored (torch.save's choice), 8 = deflate. */
  compression: number;
  /** Byte offset of the stored data in the file. */
  dataStart: number;
}

/**
 * Reads the central directory of the zip open as `fd` (yauzl validates names, sizes and bounds).
 * Errors name `label`.
 */
export async function readZipDirectory(fd: number, label: string): Promise<Map<string, ZipRecord>> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.fromFdPromise(fd, { autoClose: false });
  } catch (error) {
    throw new Error(`${label} is not a valid zip archive (${(error as Error).message})`, { cause: error });
  }
  const records = new Map<string, ZipRecord>();
  try {
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName.endsWith('/')) continue;
      if (entry.isEncrypted()) throw new Error(`${label}: zip record '${entry.fileName}' is encrypted`);
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
        throw new Error(`${label}: zip record '${entry.fileName}' uses compression method ${entry.compressionMethod} (only stored and deflate are read)`);
      }
      const { fileDataStart } = await zip.readLocalFileHeaderPromise(entry, { minimal: true });
      records.set(entry.fileName, {
        name: entry.fileName, size: entry.uncompressedSize, storedSize: entry.compressedSize,
        compression: entry.compressionMethod, dataStart: fileDataStart,
      });
    }
  } catch (error) {
    const message = (error as Error).message;
    throw new Error(message.startsWith(label) ? message : `${label}: corrupt zip archive (${message})`, { cause: error });
  }
  // NOTE: no zip.close(): yauzl's close() closes the fd, which stays the caller's to read records from.
  return records;
}

/**
 * The bytes of one record: stored records are read straight into a buffer of their size (one
 * read, no copy), deflated ones inflated with their size as the output limit.
 */
export function readZipRecord(fd: number, record: ZipRecord, label: string): Uint8Array {
  const raw = new Uint8Array(record.storedSize);
  readExactly(fd, raw, record.dataStart, `${label}: zip record '${record.name}'`);
  if (record.compression === 0) return raw;
  let out: Buffer;
  try {
    out = inflateRawSync(raw, { maxOutputLength: Math.max(1, record.size) });
  } catch (error) {
    throw new Error(`${label}: zip record '${record.name}' cannot be inflated (${(error as Error).message})`, { cause: error });
  }
  if (out.byteLength !== record.size) throw new Error(`${label}: zip record '${record.name}' inflates to ${out.byteLength} bytes, expected ${record.size}`);
  return out;
}
