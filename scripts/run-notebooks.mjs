#!/usr/bin/env node
// `npm run notebooks [-- options] [notebook.ipynb ...]`: executes notebooks top to bottom, headless, with the
// Kestrel kernel (Jupyter's nbclient, through scripts/jupyter/execute.py), then checks what they produced:
//   - no cell may fail (execution stops at the first error; the cell, its error and its stderr are printed);
//   - every code cell tagged `picture` must show a picture (image/png, image/svg+xml or image/jpeg output),
//     every cell tagged `table` an HTML table (text/html);
//   - cells tagged `headline` print the notebook's headline numbers, which are collected and printed.
// Options:
//   --quick        small settings (sets KESTREL_NOTEBOOK_QUICK=1, which the notebooks read): what CI runs
//   --write        replace each notebook by its executed copy (how the committed outputs are made)
//   --out DIR      where executed copies go (default: a temporary folder)
//   --timeout S    per-cell limit in seconds (default 1800, 600 with --quick)
//   --json FILE    also write the results as JSON
// Exit status: 0 when every notebook ran and passed its checks, 1 otherwise.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { EXAMPLES, KERNEL, ROOT, jupyterVersion, linkKestrel, prepare } from './jupyter/setup.mjs';

const argv = process.argv.slice(2);
const flag = (name) => { const i = argv.indexOf(name); if (i < 0) return false; argv.splice(i, 1); return true; };
const option = (name) => { const i = argv.indexOf(name); if (i < 0) return undefined; const [, value] = argv.splice(i, 2); if (value === undefined) usage(`${name} needs a value`); return value; };
function usage(message) {
  process.stderr.write(`run-notebooks: ${message}\nusage: node scripts/run-notebooks.mjs [--quick] [--write] [--out DIR] [--timeout S] [--json FILE] [notebook.ipynb ...]\n`);
  process.exit(2);
}
const quick = flag('--quick');
const write = flag('--write');
const out = option('--out');
const jsonPath = option('--json');
const timeout = Number(option('--timeout') ?? (quick ? 600 : 1800));
if (!(timeout > 0)) usage('--timeout must be a positive number of seconds');
const unknown = argv.find((a) => a.startsWith('--'));
if (unknown) usage(`unknown option ${unknown}`);
const notebooks = (argv.length ? argv : readdirSync(EXAMPLES).filter((f) => f.endsWith('.ipynb')).sort().map((f) => join(EXAMPLES, f))).map((f) => resolve(f));
for (const file of notebooks) if (!existsSync(file)) usage(`${file}: no such notebook`);

let env;
try {
  env = prepare();
} catch (error) {
  process.stderr.write(`run-notebooks: ${error.message}\n`);
  process.exit(1);
}
const outDir = out ? resolve(out) : mkdtempSync(join(tmpdir(), 'kestrel-notebooks-'));
mkdirSync(outDir, { recursive: true });
process.stderr.write(`run-notebooks: ${notebooks.length} notebook(s), ${quick ? 'quick' : 'full'} settings, outputs in ${outDir} (${jupyterVersion()})\n`);

const PICTURE_TYPES = ['image/png', 'image/svg+xml', 'image/jpeg'];
const text = (value) => (Array.isArray(value) ? value.join('') : value ?? '');
const stderrOf = (outputs) => outputs.filter((o) => o.output_type === 'stream' && o.name === 'stderr').map((o) => text(o.text)).join('').trim();

/** The problems of an executed notebook (empty when it passes) and its headline lines. */
function checkNotebook(nb, completed = true) {
  const problems = [];
  const headlines = [];
  let pictures = 0;
  let failed = false;
  // NOTE: tslab may answer a failed cell without an error output (the message is on stderr): when the run did not
  // complete, the failing cell is the last one that started.
  const lastStarted = nb.cells.reduce((last, cell, index) => (cell.cell_type === 'code' && cell.execution_count != null ? index : last), -1);
  nb.cells.forEach((cell, index) => {
    if (cell.cell_type !== 'code' || failed) return;
    const tags = cell.metadata?.tags ?? [];
    const outputs = cell.outputs ?? [];
    const where = `cell ${index + 1} (${text(cell.source).split('\n')[0].slice(0, 60)})`;
    const error = outputs.find((o) => o.output_type === 'error');
    if (error || (!completed && (index === lastStarted || (lastStarted < 0 && cell.execution_count == null)))) {
      // NOTE: tslab reports compile errors and exceptions on stderr (the error reply itself may be empty).
      const stderr = stderrOf(outputs);
      const what = error ? `${error.ename || 'Error'}${error.evalue ? `: ${error.evalue}` : ''}` : stderrOf(outputs) ? 'error' : 'did not finish (timeout or the kernel died)';
      problems.push(`${where} failed: ${what}${stderr ? `\n${stderr.split('\n').slice(0, 30).join('\n')}` : ''}`);
      failed = true;
      return;
    }
    const shown = outputs.filter((o) => o.data && PICTURE_TYPES.some((t) => t in o.data)).length;
    pictures += shown;
    if (tags.includes('picture') && shown === 0) problems.push(`${where} is tagged 'picture' but produced no picture`);
    if (tags.includes('table') && !outputs.some((o) => o.data && 'text/html' in o.data)) problems.push(`${where} is tagged 'table' but produced no HTML table`);
    if (tags.includes('headline')) {
      const printed = outputs.filter((o) => o.output_type === 'stream' && o.name === 'stdout').map((o) => text(o.text)).join('').trim();
      if (!printed) problems.push(`${where} is tagged 'headline' but printed nothing`);
      else headlines.push(...printed.split('\n'));
    }
  });
  return { problems, headlines, pictures };
}

const results = [];
for (const file of notebooks) {
  const name = basename(file);
  const started = Date.now();
  const executed = join(outDir, name);
  if (executed !== file) rmSync(executed, { force: true });
  // NOTE: the kernel runs in the notebook's folder; `kestrel` must resolve from there (examples/ has the link).
  linkKestrel(dirname(file));
  process.stderr.write(`run-notebooks: ${relative(ROOT, file) || file} ...\n`);
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const args = [join(ROOT, 'scripts', 'jupyter', 'execute.py'), file, executed, '--kernel', KERNEL, '--timeout', String(Math.round(timeout))];
  const result = spawnSync(python, args, { env: { ...env, ...(quick ? { KESTREL_NOTEBOOK_QUICK: '1' } : {}) }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = (Date.now() - started) / 1000;
  let check;
  if (existsSync(executed)) {
    check = checkNotebook(JSON.parse(readFileSync(executed, 'utf8')), result.status === 0);
    // NOTE: nbclient's own word on a failure (DeadKernelError, CellTimeoutError) goes with the cell's problem.
    const reason = (result.stderr ?? '').trim().split('\n').filter((l) => l.startsWith('execute.py:')).join(' ');
    if (result.status !== 0 && check.problems.length === 0) check.problems.push(`execution failed (exit ${result.status ?? result.signal}): ${(result.stderr ?? '').trim().split('\n').slice(-5).join(' ')}`);
    else if (reason) check.problems[check.problems.length - 1] += ` [${reason}]`;
  } else {
    check = { problems: [`the notebook could not be executed (exit ${result.status ?? result.signal}):\n${(result.stderr ?? '').trim().split('\n').slice(-20).join('\n')}`], headlines: [], pictures: 0 };
  }
  const ok = check.problems.length === 0;
  results.push({ notebook: relative(ROOT, file) || file, ok, seconds, pictures: check.pictures, headlines: check.headlines, problems: check.problems });
  process.stderr.write(`run-notebooks: ${name} ${ok ? 'passed' : 'FAILED'} in ${seconds.toFixed(0)} s, ${check.pictures} picture(s)\n`);
  for (const line of check.headlines) process.stderr.write(`  headline: ${line}\n`);
  for (const problem of check.problems) process.stderr.write(`  ${problem.replace(/\n/g, '\n  ')}\n`);
  if (ok && write) copyFileSync(executed, file);
}
if (jsonPath) writeFileSync(jsonPath, JSON.stringify({ quick, results }, null, 1));
const failed = results.filter((r) => !r.ok);
process.stderr.write(`run-notebooks: ${results.length - failed.length}/${results.length} passed${failed.length ? `; failed: ${failed.map((r) => r.notebook).join(', ')}` : ''}\n`);
process.exit(failed.length ? 1 : 0);
