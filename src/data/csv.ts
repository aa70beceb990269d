/** CSV reading with csv-parse (RFC 4180: quoted fields may hold commas, quotes and newlines) and field quoting for writers. */
import { parse } from 'csv-parse/sync';

/** One CSV record and the line of the text it starts on (1-based). */
export interface CsvRow {
  cells: string[];
  line: number;
}

/**
 * Parses CSV text into rows (cells trimmed, empty lines skipped, a byte-order mark dropped). Rows may have
 * different lengths; the caller checks them. Errors start with `where` and name the line.
 */
export function parseCsvRows(text: string, where: string): CsvRow[] {
  try {
    // NOTE: line endings normalised first, so line numbers in messages count \r\n once.
    const records = parse(text.replace(/\r\n?/g, '\n'), {
      bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, info: true, raw: true,
    }) as unknown as { record: string[]; info: { lines: number }; raw: string }[];
    // NOTE: info.lines is where a record ends; a record spanning lines starts that many newlines earlier.
    return records.map(({ record, info, raw }) => ({ cells: record, line: info.lines - (raw.replace(/^\n+|\n$/g, '').match(/\n/g)?.length ?? 0) }));
  } catch (error) {
    const e = error as Error & { lines?: number };
    throw new Error(`${where}${e.lines ? ` line ${e.lines}` : ''}: not valid CSV (${e.message})`);
  }
}

/** A value as one CSV field: quoted (with doubled quotes) when it holds a comma, quote or line break. */
export function csvField(value: string | number | bigint): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Cells as one CSV line (no line break). */
export function csvLine(cells: readonly (string | number | bigint)[]): string {
  return cells.map(csvField).join(',');
}
