/** Where labels come from: the class sub-folder, a regular expression on the file name, or a `file,label` CSV. */
import { readFileSync } from 'node:fs';
import { basename, relative, resolve, sep } from 'node:path';
import { parseCsvRows } from '../csv.js';

/** Labels from a CSV file with a header row; `file` paths are relative to the split folder. */
export interface CsvLabels {
  csv: string;
  /** Column with the file name (default 'file', else the first column). */
  fileColumn?: string;
  /** Column with the label (default 'label', else the second column). */
  labelColumn?: string;
}

/** 'folder' (default), a RegExp whose first group is the label (matched on the file name), or a CSV. */
export type LabelSource = 'folder' | RegExp | CsvLabels;

/** A label for a file, or the reason there is none. */
export type LabelResult = { label: string } | { reason: string };

/** Labels files under `root` (an absolute split folder). */
export type Labeller = (file: string) => LabelResult;

/** Reads a labels CSV into a map from normalised relative path to label; errors name the CSV line. */
export function readLabelsCsv(source: CsvLabels): Map<string, string> {
  let text: string;
  try { text = readFileSync(source.csv, 'utf8'); } catch (error) { throw new Error(`cannot read labels CSV ${source.csv}: ${(error as Error).message}`); }
  const rows = parseCsvRows(text, `labels CSV ${source.csv}`);
  if (rows.length < 2) throw new Error(`labels CSV ${source.csv} has no rows (expected a header like 'file,label' and one row per image)`);
  const header = rows[0].cells;
  const fileIndex = source.fileColumn ? header.indexOf(source.fileColumn) : Math.max(0, header.indexOf('file'));
  const labelIndex = source.labelColumn ? header.indexOf(source.labelColumn) : (header.indexOf('label') >= 0 ? header.indexOf('label') : 1);
  if (fileIndex < 0 || labelIndex < 0 || labelIndex >= header.length) {
    throw new Error(`labels CSV ${source.csv}: header '${header.join(',')}' lacks column ${fileIndex < 0 ? source.fileColumn : source.labelColumn ?? 'label'}`);
  }
  const map = new Map<string, string>();
  for (const { cells, line } of rows.slice(1)) {
    const file = cells[fileIndex]; const label = cells[labelIndex];
    if (!file || label === undefined || label === '') throw new Error(`labels CSV ${source.csv} line ${line}: needs a file and a label, got '${cells.join(',')}'`);
    const key = file.split(/[\\/]/).join('/');
    const previous = map.get(key);
    if (previous !== undefined && previous !== label) throw new Error(`labels CSV ${source.csv} line ${line}: ${file} is labelled both '${previous}' and '${label}'`);
    map.set(key, label);
  }
  return map;
}

/** Builds the labeller for a split folder. */
export function makeLabeller(source: LabelSource, root: string, csv?: Map<string, string>): Labeller {
  const base = resolve(root);
  if (source === 'folder') {
    return (file) => {
      const parts = relative(base, file).split(sep);
      return parts.length >= 2 ? { label: parts[0] } : { reason: `not in a class folder (expected ${root}/<class>/${basename(file)})` };
    };
  }
  if (source instanceof RegExp) {
    return (file) => {
      const match = source.exec(basename(file));
      return match?.[1] ? { label: match[1] } : { reason: `file name does not match the label pattern ${String(source)}` };
    };
  }
  const labels = csv ?? readLabelsCsv(source);
  return (file) => {
    const key = relative(base, file).split(sep).join('/');
    const label = labels.get(key) ?? labels.get(basename(file));
    return label !== undefined ? { label } : { reason: `not listed in labels CSV ${source.csv}` };
  };
}
