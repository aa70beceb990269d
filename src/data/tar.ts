/**
 * A small streaming reader for (gzipped) tar archives: ustar, GNU long names and pax paths.
 * Regular files and folders are extracted; links and devices are skipped; paths that would
 * escape the destination are refused.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { createGunzip } from 'node:zlib';

const BLOCK = 512;

/** One entry extracted from an archive. */
export interface TarEntry {
  /** Path inside the archive (forward slashes). */
  path: string;
  /** Size in bytes (0 for folders). */
  size: number;
  type: 'file' | 'directory';
}

/** Reads exact byte counts from an async stream of chunks. */
class ByteReader {
  private buffered: Buffer[] = [];
  private length = 0;
  /** Bytes consumed so far (for error messages). */
  position = 0;
  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** Up to `count` bytes; fewer only at the end of the stream. */
  async read(count: number): Promise<Buffer> {
    while (this.length < count) {
      const next = await this.source.next();
      if (next.done) break;
      this.buffered.push(next.value);
      this.length += next.value.length;
    }
    const all = this.buffered.length === 1 ? this.buffered[0] : Buffer.concat(this.buffered);
    const take = Math.min(count, all.length);
    const rest = all.subarray(take);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
    this.position += take;
    return all.subarray(0, take);
  }

  /** Passes the next `count` bytes to `sink` in stream-sized pieces. */
  async pipe(count: number, sink: (chunk: Buffer) => Promise<void>): Promise<number> {
    let left = count;
    while (left > 0) {
      const chunk = await this.read(Math.min(left, Math.max(this.length, 1 << 16)));
      if (chunk.length === 0) break;
      await sink(chunk);
      left -= chunk.length;
    }
    return count - left;
  }
}

function text(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString('utf8');
}

function octal(block: Buffer, start: number, length: number, archive: string): number {
  // NOTE: GNU tar stores sizes above 8 GiB in base-256 (high bit of the first byte set).
  if (block[start] & 0x80) {
    let value = 0;
    for (let i = start + 1; i < start + length; i += 1) value = value * 256 + block[i];
    return value;
  }
  const digits = text(block, start, length).trim();
  if (digits === '') return 0;
  if (!/^[0-7]+$/.test(digits)) throw new Error(`corrupt tar archive '${archive}': bad number '${digits}' in a header`);
  return Number.parseInt(digits, 8);
}

function checksumOk(block: Buffer, archive: string): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i += 1) sum += i >= 148 && i < 156 ? 32 : block[i];
  return sum === octal(block, 148, 8, archive);
}

function paxPath(data: Buffer): string | undefined {
  // NOTE: pax records are "LENGTH key=value\n"; only the path matters here.
  let offset = 0;
  let path: string | undefined;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    const length = Number.parseInt(data.subarray(offset, space).toString('utf8'), 10);
    if (space < 0 || !Number.isFinite(length) || length <= 0) break;
    const record = data.subarray(space + 1, offset + length - 1).toString('utf8');
    if (record.startsWith('path=')) path = record.slice(5);
    offset += length;
  }
  return path;
}

function safeTarget(root: string, name: string, archive: string): string | undefined {
  const cleaned = normalize(name.replace(/\\/g, '/')).replace(/^(\.\/)+/, '');
  if (cleaned === '.' || cleaned === '' || cleaned === `.${sep}`) return undefined;
  if (isAbsolute(cleaned) || cleaned.split(sep).includes('..')) {
    throw new Error(`refusing to extract '${name}' from '${archive}': the path leaves the destination folder`);
  }
  return join(root, cleaned);
}

/** Extracts a `.tar` or `.tar.gz`/`.tgz` archive (gzip detected from its magic bytes) into `dest`. */
export async function extractTar(archive: string, dest: string): Promise<TarEntry[]> {
  const head = await readHead(archive);
  const raw = createReadStream(archive);
  const stream = head[0] === 0x1f && head[1] === 0x8b ? raw.pipe(createGunzip()) : raw;
  raw.on('error', (error) => stream.destroy(error));
  const reader = new ByteReader(stream[Symbol.asyncIterator]());
  const entries: TarEntry[] = [];
  await mkdir(dest, { recursive: true });
  let longName: string | undefined;
  try {
    for (;;) {
      const block = await reader.read(BLOCK);
      if (block.length === 0) break;
      if (block.length < BLOCK) throw new Error(`truncated tar archive '${archive}': a header ends after ${block.length} bytes`);
      if (block.every((byte) => byte === 0)) break;
      if (!checksumOk(block, archive)) throw new Error(`corrupt tar archive '${archive}': bad header checksum at byte ${reader.position - BLOCK}`);
      const size = octal(block, 124, 12, archive);
      const type = String.fromCharCode(block[156] || 0x30);
      const prefix = block.subarray(257, 262).toString('latin1') === 'ustar' ? text(block, 345, 155) : '';
      const name = longName ?? (prefix ? `${prefix}/${text(block, 0, 100)}` : text(block, 0, 100));
      longName = undefined;
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      if (type === 'L' || type === 'x') {
        const data = await reader.read(padded);
        if (data.length < padded) throw new Error(`truncated tar archive '${archive}' in the header of '${name}'`);
        longName = type === 'L' ? text(data, 0, size) : paxPath(data.subarray(0, size));
        continue;
      }
      const target = safeTarget(dest, name, archive);
      if (type === '5') {
        if (target) await mkdir(target, { recursive: true });
        entries.push({ path: name, size: 0, type: 'directory' });
      } else if ((type === '0' || type === '7') && target) {
        await mkdir(join(target, '..'), { recursive: true });
        const file = await open(target, 'w');
        try {
          const written = await reader.pipe(size, async (chunk) => { await file.write(chunk); });
          if (written < size) throw new Error(`truncated tar archive '${archive}': '${name}' has ${written} of ${size} bytes`);
        } finally { await file.close(); }
        entries.push({ path: name, size, type: 'file' });
      } else {
        // NOTE: links, devices, global pax headers: not needed for datasets, skipped.
        await reader.pipe(size, async () => {});
      }
      const padding = padded - size;
      if (padding > 0 && (await reader.read(padding)).length < padding && type !== '5') {
        throw new Error(`truncated tar archive '${archive}' after '${name}'`);
      }
    }
  } catch (error) {
    const message = (error as Error).message;
    if (message.includes(archive)) throw error;
    throw new Error(`cannot extract '${archive}': ${message}`, { cause: error });
  } finally {
    stream.destroy();
  }
  return entries;
}

async function readHead(path: string): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    await file.read(head, 0, 2, 0);
    return head;
  } finally { await file.close(); }
}
