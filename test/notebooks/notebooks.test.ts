// The example notebooks, executed top to bottom with the Kestrel kernel (tslab) on small settings, as CI runs
// them; and proof that the runner fails on a broken copy.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const RUNNER = join(ROOT, 'scripts', 'run-notebooks.mjs');
const EXAMPLES = join(ROOT, 'examples');

/** Why the notebooks cannot run here (undefined when they can): Jupyter's nbclient must be installed. */
function skipReason(): string | undefined {
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const probe = spawnSync(python, ['-c', 'import nbclient, nbformat'], { encoding: 'utf8' });
  if (probe.status !== 0) return 'Jupyter is not installed (apt-get install jupyter-notebook jupyter-nbconvert python3-nbclient; .ci/run does)';
  return undefined;
}

interface Result { notebook: string; ok: boolean; seconds: number; pictures: number; headlines: string[]; problems: string[] }

/** Runs the runner on `notebooks` with `args`; returns its exit status, its results and what it printed. */
function runNotebooks(notebooks: string[], args: string[] = []): { status: number | null; results: Result[]; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-nbrun-'));
  try {
    const json = join(dir, 'results.json');
    const run = spawnSync(process.execPath, [RUNNER, '--quick', '--out', join(dir, 'out'), '--json', json, ...args, ...notebooks], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const results = existsSync(json) ? (JSON.parse(readFileSync(json, 'utf8')) as { results: Result[] }).results : [];
    return { status: run.status, results, stderr: run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Cell { cell_type: string; source: string | string[]; metadata: { tags?: string[] }; outputs?: unknown[]; execution_count?: number | null }
interface Notebook { cells: Cell[] }

/** The notebooks in examples/ and the pictures each must show (its cells tagged 'picture'). */
const notebooks = readdirSync(EXAMPLES).filter((f) => f.endsWith('.ipynb')).sort();
const pictureCells = (nb: Notebook) => nb.cells.filter((c) => c.metadata.tags?.includes('picture')).length;

test('Kestrel can be require()d from CommonJS (tslab compiles notebook cells to CommonJS): no top-level await in its module graph', () => {
  const script = `const k = require(${JSON.stringify(join(ROOT, 'dist', 'src', 'index.js'))}); console.log(typeof k.Learner, typeof k.display, typeof k.Interpretation);`;
  const run = spawnSync(process.execPath, ['--experimental-print-required-tla', '-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, `a module (or dependency) awaits at its top level; load it lazily instead:\n${run.stderr.split('\n').slice(0, 6).join('\n')}`);
  assert.equal(run.stdout.trim(), 'function function function');
});

test('every example notebook runs top to bottom with the Kestrel kernel and shows its pictures (quick settings)', { skip: skipReason() }, () => {
  assert.ok(notebooks.length >= 2, `examples/ has notebooks (${notebooks.join(', ')})`);
  const { status, results, stderr } = runNotebooks(notebooks.map((f) => join(EXAMPLES, f)));
  assert.equal(results.length, notebooks.length, stderr);
  for (const [i, result] of results.entries()) {
    const nb = JSON.parse(readFileSync(join(EXAMPLES, notebooks[i]), 'utf8')) as Notebook;
    assert.deepEqual(result.problems, [], `${result.notebook}:\n${result.problems.join('\n')}`);
    assert.ok(result.pictures >= pictureCells(nb), `${result.notebook} showed ${result.pictures} pictures for ${pictureCells(nb)} picture cells`);
    assert.ok(result.headlines.length >= 1 && result.headlines.every((h) => /\d/.test(h)), `${result.notebook} printed its headline numbers: ${result.headlines.join(' | ')}`);
  }
  assert.equal(status, 0, stderr);
});

test('the runner fails on a broken copy: a cell that throws, a picture cell that shows no picture', { skip: skipReason() }, () => {
  const source = JSON.parse(readFileSync(join(EXAMPLES, '01-mnist-mlp.ipynb'), 'utf8')) as Notebook & Record<string, unknown>;
  const clean = (cells: Cell[]) => cells.map((c) => (c.cell_type === 'code' ? { ...c, outputs: [], execution_count: null } : c));
  const firstCode = source.cells.findIndex((c) => c.cell_type === 'code');
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-broken-'));
  try {
    // 1. the imports, then a cell that throws, then a cell that must never run
    const throwing = { ...source, cells: clean([...source.cells.slice(0, firstCode + 1),
      { cell_type: 'code', source: "const answer: number = 6 * 7;\nthrow new Error(`deliberately broken after ${answer}`);", metadata: {}, outputs: [], execution_count: null },
      { cell_type: 'code', source: "console.log('never reached');", metadata: { tags: ['headline'] }, outputs: [], execution_count: null }]) };
    // 2. a cell tagged 'picture' that only prints; 3. a cell that does not type-check
    const pictureless = { ...source, cells: clean([source.cells[firstCode],
      { cell_type: 'code', source: "console.log('no picture here');", metadata: { tags: ['picture'] }, outputs: [], execution_count: null }]) };
    const illTyped = { ...source, cells: clean([source.cells[firstCode],
      { cell_type: 'code', source: 'const n: number = "not a number";', metadata: {}, outputs: [], execution_count: null }]) };
    const files = [['broken-throws.ipynb', throwing], ['broken-picture.ipynb', pictureless], ['broken-types.ipynb', illTyped]].map(([name, nb]) => {
      const path = join(dir, name as string);
      writeFileSync(path, JSON.stringify(nb));
      return path;
    });
    const { status, results, stderr } = runNotebooks(files);
    assert.equal(status, 1, 'the runner exits 1');
    assert.deepEqual(results.map((r) => r.ok), [false, false, false], stderr);
    const [throws, picture, types] = results;
    assert.match(throws.problems.join('\n'), /cell 3 \(const answer: number = 6 \* 7;\) failed[\s\S]*deliberately broken after 42/, 'names the cell and its error');
    assert.deepEqual(throws.headlines, [], 'nothing after the failing cell ran');
    assert.match(picture.problems.join('\n'), /cell 2 \(console\.log\('no picture here'\);\) is tagged 'picture' but produced no picture/);
    assert.match(types.problems.join('\n'), /cell 2 .* failed[\s\S]*Type 'string' is not assignable to type 'number'/, 'type errors fail the cell');
    assert.match(stderr, /0\/3 passed; failed: /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
