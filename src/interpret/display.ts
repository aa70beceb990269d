/**
 * Pictures in notebooks: Figure (PNG bytes, plus SVG or HTML when there is one) and display(), which shows
 * any picture Kestrel makes inline in a Jupyter notebook (tslab) and prints a one-line description elsewhere.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { inspect } from 'node:util';
import sharp from 'sharp';
import { DISPLAY, type Displayable, type MimeBundle, isDisplayable, notebookHost } from '../learn/index.js';

/** Where a figure came from and what else it carries. */
export interface FigureOptions {
  /** The same picture as SVG (charts have one; saving to `.svg` writes it). */
  svg?: string;
  /** An HTML rendering that notebooks prefer to the PNG (tables). */
  html?: string;
  /** A short description (`text/plain`), e.g. the chart's title. */
  title?: string;
}

/** Width and height of PNG bytes (from the IHDR chunk), or undefined if `bytes` is not a PNG. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes.length < 24 || !isPng(bytes)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

function isPng(bytes: Uint8Array): boolean {
  return bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
}

/** The image MIME type of encoded bytes (PNG, JPEG or GIF by their magic numbers). */
export function imageMime(bytes: Uint8Array): 'image/png' | 'image/jpeg' | 'image/gif' | undefined {
  if (isPng(bytes)) return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes[0] === 0x47 && bytes[1] === 0x49 && bytes[2] === 0x46) return 'image/gif';
  return undefined;
}

/**
 * A picture Kestrel drew: PNG bytes, plus SVG (charts) or HTML (tables) when it has them. It shows itself
 * inline in a notebook (`display(figure)`) and saves as `.png` or `.svg`.
 */
export class Figure implements Displayable {
  /** PNG bytes. */
  readonly png: Buffer;
  readonly svg: string | undefined;
  readonly html: string | undefined;
  readonly title: string | undefined;

  /** A figure of PNG bytes (checked to be a PNG). */
  constructor(png: Uint8Array, options: FigureOptions = {}) {
    if (!isPng(png)) throw new Error('display.ts: a Figure needs PNG bytes (they do not start with the PNG signature)');
    this.png = Buffer.isBuffer(png) ? png : Buffer.from(png.buffer, png.byteOffset, png.byteLength);
    this.svg = options.svg;
    this.html = options.html;
    this.title = options.title;
  }

  /** A figure of an SVG drawing, rasterised to PNG by sharp (`scale` 2 doubles the pixels). */
  static async fromSvg(svg: string, options: Omit<FigureOptions, 'svg'> & { scale?: number } = {}): Promise<Figure> {
    const png = await sharp(Buffer.from(svg), { density: 72 * (options.scale ?? 1) }).png().toBuffer();
    return new Figure(png, { ...options, svg });
  }

  /** A figure of an image file (PNG as is, SVG rasterised, other formats converted to PNG). */
  static async fromFile(path: string): Promise<Figure> {
    if (!existsSync(path) || !statSync(path).isFile()) throw new Error(`${path}: no such picture file`);
    if (extname(path).toLowerCase() === '.svg') return Figure.fromSvg(readFileSync(path, 'utf8'), { title: path });
    const bytes = readFileSync(path);
    return new Figure(isPng(bytes) ? bytes : await sharp(bytes).png().toBuffer(), { title: path });
  }

  /** Pixel width. */
  get width(): number { return pngSize(this.png)!.width; }

  /** Pixel height. */
  get height(): number { return pngSize(this.png)!.height; }

  /** Writes the figure: SVG for a `.svg` path (when it has one), PNG otherwise; resolves to the path. */
  async save(path: string): Promise<string> {
    await mkdir(dirname(path), { recursive: true });
    if (extname(path).toLowerCase() === '.svg') {
      if (this.svg === undefined) throw new Error(`${path}: this figure has no SVG form; save it as .png`);
      await writeFile(path, this.svg);
    } else {
      await writeFile(path, this.png);
    }
    return path;
  }

  /** One line: size and title. */
  toString(): string {
    return `Figure(${this.width}x${this.height}${this.title ? ` "${this.title}"` : ''})`;
  }

  [inspect.custom](): string { return this.toString(); }

  [DISPLAY](): MimeBundle {
    return {
      'image/png': this.png.toString('base64'),
      ...(this.svg !== undefined ? { 'image/svg+xml': this.svg } : {}),
      ...(this.html !== undefined ? { 'text/html': this.html } : {}),
      'text/plain': this.toString(),
    };
  }
}

/** Anything display() shows: a Figure or other displayable, PNG/JPEG/GIF bytes, a picture file's path, text, a promise of one. */
export type DisplayValue = Displayable | Uint8Array | string | number | boolean | object | null | undefined;

const PICTURE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.gif', '.svg', '.webp']);

/**
 * The MIME bundle of a value: displayables give their own; image bytes become that image; a string naming
 * an existing picture file becomes the picture (Kestrel's `plot*(…, path)` and `showBatch` resolve to
 * paths); other values become text.
 */
export async function mimeBundle(value: DisplayValue | Promise<DisplayValue>): Promise<MimeBundle> {
  const v = await value;
  if (isDisplayable(v)) return v[DISPLAY]();
  if (v instanceof Uint8Array) {
    const type = imageMime(v);
    if (!type) throw new Error(`display.ts: ${v.length} bytes that are not a PNG, JPEG or GIF image`);
    return { [type]: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'), 'text/plain': `${type} (${v.length} bytes)` };
  }
  if (typeof v === 'string' && PICTURE_EXTENSIONS.has(extname(v).toLowerCase()) && existsSync(v)) return (await Figure.fromFile(v))[DISPLAY]();
  return { 'text/plain': typeof v === 'string' ? v : inspect(v, { depth: 4 }) };
}

/**
 * Shows values inline in a notebook, in order (one output each): `display(plotHistory(learn.history))`,
 * `display(model.summary([1, 28, 28], { print: false }))`, `display(await showBatch(data.train))`. Promises
 * are awaited. Outside a notebook, each value's text form is printed instead.
 */
export async function display(...values: Array<DisplayValue | Promise<DisplayValue>>): Promise<void> {
  const host = notebookHost();
  for (const value of values) {
    const bundle = await mimeBundle(value);
    if (host) host.display(bundle);
    else console.log(bundle['text/plain'] ?? '');
  }
}
