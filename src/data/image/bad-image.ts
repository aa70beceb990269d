/** Bad image files: one reason per file, an error type naming the file, and the end-of-run summary. */
import { basename } from 'node:path';

/** What to do with a file that cannot be used: drop it (reported in a summary) or stop with an error. */
export type OnBadImage = 'skip' | 'error';

/** One unusable file and why. */
export interface BadImage {
  file: string;
  reason: string;
}

/** An image that cannot be decoded or used; the message names the file and the reason. */
export class BadImageError extends Error {
  override name = 'BadImageError';

  /** Wraps a reason for a file. */
  constructor(readonly file: string, readonly reason: string) {
    super(`${file}: ${reason}`);
  }
}

/** The error for an image over the pixel limit, naming its size and the limit. */
export function tooLarge(file: string, width: number, height: number, maxPixels: number): BadImageError {
  const mp = (n: number) => `${(n / 1e6).toFixed(1)} megapixels`;
  return new BadImageError(file, `image too large: ${width}x${height} is ${mp(width * height)}, over the limit of ${mp(maxPixels)} (decompression-bomb guard; raise maxPixels to allow it)`);
}

const FORMAT_NAMES: Record<string, string> = { jpeg: 'JPEG', png: 'PNG', webp: 'WebP', gif: 'GIF', tiff: 'TIFF' };

/** Turns a libvips/sharp or file-system error into a short reason a person understands. */
export function describeImageError(error: unknown, format?: string): string {
  const err = error as NodeJS.ErrnoException;
  const message = String(err?.message ?? error);
  if (error instanceof BadImageError) return error.reason;
  if (err?.code === 'ENOENT' || /Input file is missing/.test(message)) return 'file is missing or a dangling link';
  if (err?.code === 'EACCES' || err?.code === 'EPERM') return 'permission denied (unreadable file)';
  if (err?.code === 'EISDIR') return 'is a directory, not an image file';
  if (/premature end|truncated|end of stream|unexpected end|Read error|short read/i.test(message)) {
    return `truncated ${FORMAT_NAMES[format ?? ''] ?? 'image'} (file ends before the image data does)`;
  }
  if (/unsupported image format/i.test(message)) return 'not an image (unrecognised format)';
  if (/corrupt header|Invalid|bad|corrupt/i.test(message)) return `corrupt ${FORMAT_NAMES[format ?? ''] ?? 'image'} (${message.split('\n')[0]})`;
  return message.split('\n')[0];
}

/** Collects skipped files and prints "skipped 3 of 1200 images: a.jpg (truncated JPEG) ...". */
export class BadImageLog {
  /** Files skipped so far, in the order found. */
  readonly items: BadImage[] = [];
  private readonly seen = new Set<string>();

  /** Records a file once (the same file failing in two epochs is one entry). */
  add(item: BadImage): void {
    if (this.seen.has(item.file)) return;
    this.seen.add(item.file);
    this.items.push(item);
  }

  /** Number of distinct files recorded. */
  get size(): number { return this.items.length; }

  /** One line summarising the skipped files (at most `limit` named). */
  summary(total: number, limit = 10): string {
    const listed = this.items.slice(0, limit).map((b) => `${basename(b.file)} (${b.reason})`);
    const more = this.items.length > limit ? `, and ${this.items.length - limit} more` : '';
    return `skipped ${this.items.length} of ${total} images: ${listed.join(', ')}${more}`;
  }
}
