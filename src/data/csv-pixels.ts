/**
 * Images stored as CSV rows of pixel values: Kaggle's digit-recognizer (`label,pixel0..pixel783`,
 * the test file without label) and scikit-learn's digits (8x8, values 0..16, label last, no
 * header). Parsed as a stream, so large files never sit in memory as text. Plus the Kaggle
 * submission writer.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { writeTextFileAtomic } from '../tensor/atomic.js';
import { Tensor, dispose, tensor, tidy } from '../tensor/index.js';
import { csvLine, parseCsvRows } from './csv.js';
import { TensorDataset } from './dataset.js';

/** Options of {@link readPixelCsv}. */
export interface PixelCsvOptions {
  /** Whether rows carry a label; default: from the header ('label' column) or the column count. */
  hasLabel?: boolean;
  /** Where the label is when there is no header (default 'first'); with a header, where 'label' is. */
  labelColumn?: 'first' | 'last';
  /** Whether the first line is a header; default: yes when it holds a non-numeric field. */
  header?: boolean;
  /** Image width (default 28). */
  width?: number;
  /** Image height (default 28). */
  height?: number;
  /** Largest allowed pixel value (default 255; sklearn digits use 16). */
  maxValue?: number;
}

/** What {@link readPixelCsv} returns; the caller owns the tensors. */
export interface PixelCsvData {
  /** uint8 [N, 1, height, width], raw values (0..maxValue). */
  images: Tensor;
  /** int64 [N], or null for a file without labels. */
  labels: Tensor | null;
  /** The pixel value meaning white: divide by it to get 0..1. */
  maxValue: number;
}

interface Layout {
  columns: number;
  /** Index of the label column, -1 without one. */
  labelColumn: number;
  /** Whether the label is returned (false: a label column present but hasLabel false). */
  keepLabel: boolean;
  names: string[] | undefined;
}

/** Row-major storage that grows as rows arrive. */
class Rows {
  pixels: Uint8Array;
  labels: number[] = [];
  count = 0;
  constructor(readonly rowSize: number) { this.pixels = new Uint8Array(rowSize * 1024); }
  /** The offset of a new row, growing the buffer when full. */
  next(): number {
    if ((this.count + 1) * this.rowSize > this.pixels.length) {
      const bigger = new Uint8Array(this.pixels.length * 2);
      bigger.set(this.pixels);
      this.pixels = bigger;
    }
    this.count += 1;
    return (this.count - 1) * this.rowSize;
  }
}

function isNumeric(field: string): boolean {
  return field.trim() !== '' && Number.isFinite(Number(field));
}

function decideLayout(first: string[], pixels: number, options: PixelCsvOptions, where: string): Layout {
  const header = options.header ?? first.some((field) => !isNumeric(field));
  const labelLast = options.labelColumn === 'last';
  if (header) {
    const names = first.map((field) => field.trim());
    const found = names.findIndex((name) => name.toLowerCase() === 'label');
    if (found > 0 && found !== names.length - 1) throw new Error(`${where}: the 'label' column must be first or last, it is column ${found + 1}`);
    if (options.hasLabel === true && found < 0) throw new Error(`${where}: hasLabel is set but the header has no 'label' column`);
    const columns = pixels + (found >= 0 ? 1 : 0);
    if (names.length !== columns) throw new Error(`${where}: the header has ${names.length} columns, expected ${columns} (${pixels} pixels${found >= 0 ? ' + label' : ''})`);
    return { columns, labelColumn: found, keepLabel: found >= 0 && options.hasLabel !== false, names };
  }
  const hasLabel = options.hasLabel ?? first.length === pixels + 1;
  const columns = pixels + (hasLabel ? 1 : 0);
  if (first.length !== columns) {
    throw new Error(`${where}: expected ${columns} columns (${pixels} pixels${hasLabel ? ' + label' : ''}), got ${first.length}`);
  }
  return { columns, labelColumn: hasLabel ? (labelLast ? pixels : 0) : -1, keepLabel: hasLabel, names: undefined };
}

function columnName(layout: Layout, column: number): string {
  if (layout.names) return layout.names[column];
  if (column === layout.labelColumn) return 'label';
  return `pixel${layout.labelColumn === 0 ? column - 1 : column}`;
}

/** Parses a field that is not plain digits: its integer value, or a string saying what is wrong. */
function slowValue(text: string): number | string {
  const trimmed = text.trim();
  if (trimmed === '') return 'empty value';
  const value = Number(trimmed);
  if (!Number.isFinite(value)) return `'${trimmed}' is not a number`;
  if (!Number.isInteger(value)) return `${trimmed} is not an integer`;
  return value;
}

function fieldError(where: string, lineNo: number, layout: Layout, column: number, message: string): Error {
  return new Error(`${where}:${lineNo}: column ${column + 1} (${columnName(layout, column)}): ${message}`);
}

function countFields(line: string): number {
  let count = 1;
  for (let at = line.indexOf(','); at >= 0; at = line.indexOf(',', at + 1)) count += 1;
  return count;
}

function parseRow(line: string, lineNo: number, layout: Layout, rows: Rows, maxValue: number, where: string): void {
  const columns = countFields(line);
  if (columns !== layout.columns) throw new Error(`${where}:${lineNo}: expected ${layout.columns} columns, got ${columns}`);
  const offset = rows.next();
  const skip = layout.labelColumn;
  let column = 0;
  let start = 0;
  let value = 0;
  let plain = true;
  for (let i = 0; i <= line.length; i += 1) {
    const code = i < line.length ? line.charCodeAt(i) : 44;
    if (code >= 48 && code <= 57) { value = value * 10 + (code - 48); continue; }
    if (code !== 44) { plain = false; continue; }
    const parsed = plain && i > start ? value : slowValue(line.slice(start, i));
    if (typeof parsed === 'string') throw fieldError(where, lineNo, layout, column, parsed);
    if (column === skip) {
      if (layout.keepLabel) {
        if (parsed < 0 || parsed > 0x7fffffff) throw fieldError(where, lineNo, layout, column, `label ${parsed} is out of range (labels are class indices >= 0)`);
        rows.labels.push(parsed);
      }
    } else {
      if (parsed < 0 || parsed > maxValue) throw fieldError(where, lineNo, layout, column, `pixel value ${parsed} is out of range 0..${maxValue}`);
      rows.pixels[offset + (skip >= 0 && column > skip ? column - 1 : column)] = parsed;
    }
    column += 1;
    start = i + 1;
    value = 0;
    plain = true;
  }
}

/**
 * Reads images from a CSV of pixel rows (optionally gzipped, by the `.gz` suffix). Errors name
 * the file, the line and the problem: wrong column count, non-numeric value, pixel out of range.
 */
export async function readPixelCsv(path: string, options: PixelCsvOptions = {}): Promise<PixelCsvData> {
  const width = options.width ?? 28;
  const height = options.height ?? 28;
  const maxValue = options.maxValue ?? 255;
  if (!(maxValue >= 1 && maxValue <= 255)) throw new Error(`readPixelCsv: maxValue must be in 1..255, got ${maxValue}`);
  const raw = createReadStream(path);
  const source = path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  raw.on('error', (error) => source.destroy(error));
  const lines = createInterface({ input: source, crlfDelay: Infinity });
  const rows = new Rows(width * height);
  let layout: Layout | undefined;
  let lineNo = 0;
  try {
    for await (const text of lines) {
      lineNo += 1;
      const line = lineNo === 1 ? text.replace(/^\uFEFF/, '') : text;
      if (line.trim() === '') continue;
      if (!layout) {
        // NOTE: the first line (maybe a header with quoted names) goes through csv-parse; data rows below are
        // digits and commas only, parsed by hand without a string per field (Kaggle's MNIST has 33 million fields).
        layout = decideLayout(parseCsvRows(line, `${path}:${lineNo}`)[0]?.cells ?? [], width * height, options, path);
        if (layout.names) continue;
      }
      parseRow(line, lineNo, layout, rows, maxValue, path);
    }
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new Error(`cannot read '${path}': no such file`, { cause: error });
    if (e.message.startsWith(path)) throw error;
    throw new Error(`cannot read '${path}': ${e.message}`, { cause: error });
  } finally {
    lines.close();
    source.destroy();
  }
  if (!layout) throw new Error(`${path}: the file is empty`);
  if (rows.count === 0) throw new Error(`${path}: no data rows after the header`);
  const images = tensor(rows.pixels.subarray(0, rows.count * rows.rowSize), [rows.count, 1, height, width]);
  try {
    const labels = layout.keepLabel ? tensor(BigInt64Array.from(rows.labels, (v) => BigInt(v)), [rows.count]) : null;
    return { images, labels, maxValue };
  } catch (error) {
    dispose(images);
    throw error;
  }
}

/** Reads scikit-learn's digits CSV (`digits.csv.gz`: 8x8 images, values 0..16, label last, no header). */
export function readDigitsCsv(path: string): Promise<PixelCsvData> {
  return readPixelCsv(path, { width: 8, height: 8, maxValue: 16, header: false, hasLabel: true, labelColumn: 'last' });
}

/**
 * A labelled pixel CSV as a {@link TensorDataset}. Images with maxValue 255 stay uint8; others
 * (sklearn digits: 16) become float32 in [0, 1], so every dataset sees the same pixel scale.
 */
export async function loadPixelCsv(path: string, options: PixelCsvOptions & { classes?: string[] } = {}): Promise<TensorDataset> {
  const data = await readPixelCsv(path, options);
  if (!data.labels) {
    dispose(data.images);
    throw new Error(`${path}: the file has no label column; use readPixelCsv for an unlabelled test file`);
  }
  const labels = data.labels;
  let images = data.images;
  try {
    if (data.maxValue !== 255) {
      images = tidy(() => data.images.float().div(data.maxValue));
      dispose(data.images);
    }
    return new TensorDataset(images, labels, { classes: options.classes });
  } catch (error) {
    dispose([images, labels]);
    throw error;
  }
}

/** Options of {@link writePredictionsCsv}. */
export interface PredictionsCsvOptions {
  /** Column names (default Kaggle's `['ImageId', 'Label']`). */
  header?: [string, string];
}

/**
 * Writes a Kaggle-style submission (`ImageId,Label` rows) atomically. `ids` null numbers rows
 * from 1, as Kaggle's digit-recognizer expects; `labels` may be a 1-D tensor.
 */
export function writePredictionsCsv(path: string, ids: ArrayLike<number | string | bigint> | null, labels: ArrayLike<number | string | bigint> | Tensor, options: PredictionsCsvOptions = {}): void {
  let values: ArrayLike<number | string | bigint>;
  if (labels instanceof Tensor) {
    if (labels.rank !== 1) throw new Error(`writePredictionsCsv('${path}'): labels must be a 1-D tensor, got shape [${labels.shape.join(', ')}]`);
    values = labels.toArray() as ArrayLike<number | bigint>;
  } else {
    values = labels;
  }
  if (ids && ids.length !== values.length) throw new Error(`writePredictionsCsv('${path}'): ${ids.length} ids but ${values.length} labels`);
  const [idName, labelName] = options.header ?? ['ImageId', 'Label'];
  const lines = [csvLine([idName, labelName])];
  for (let i = 0; i < values.length; i += 1) lines.push(csvLine([ids ? ids[i] : i + 1, values[i]]));
  writeTextFileAtomic(path, `${lines.join('\n')}\n`);
}
