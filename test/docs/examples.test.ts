/**
 * Every TypeScript block of README.md and docs/*.md, as a user would use it: type-checked against the package's public
 * exports (`from 'kestrel'`, `'kestrel/nn'`, ...; the blocks are written inside this package, so the names resolve
 * through package.json's exports to dist/) and, unless its fence says ```ts no-run, run on the bundled sample.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** One fenced TypeScript block: where it is, its code, and the words after the language (`no-run`). */
export interface CodeBlock {
  doc: string;
  /** Line of the block's first code line in the markdown file (1-based). */
  line: number;
  code: string;
  flags: string[];
}

/** The ```ts / ```typescript blocks of a markdown text. */
export function typescriptBlocks(doc: string, text: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(\S*)(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, language, rest] = open;
    const end = lines.findIndex((l, j) => j > i && l.trim() === fence);
    const stop = end < 0 ? lines.length : end;
    if (language === 'ts' || language === 'typescript') {
      const code = lines.slice(i + 1, stop).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l)).join('\n');
      blocks.push({ doc, line: i + 2, code, flags: rest.trim().split(/\s+/).filter(Boolean) });
    }
    i = stop;
  }
  return blocks;
}

function documentedBlocks(): CodeBlock[] {
  const docs = ['README.md', ...readdirSync(join(REPO, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
  return docs.flatMap((doc) => typescriptBlocks(doc, readFileSync(join(REPO, doc), 'utf8')));
}

test('the markdown extractor finds fenced TypeScript blocks, their lines and flags', () => {
  const text = ['# T', '```ts', 'const a = 1;', '```', '```sh', 'npm test', '```', '- item:', '  ```typescript no-run', '  let b = 2;', '  ```', '```ts'];
  assert.deepEqual(typescriptBlocks('x.md', text.join('\n')), [
    { doc: 'x.md', line: 3, code: 'const a = 1;', flags: [] },
    { doc: 'x.md', line: 10, code: 'let b = 2;', flags: ['no-run'] },
    { doc: 'x.md', line: 13, code: '', flags: [] },
  ]);
});

test('every TypeScript example in README.md and docs/ type-checks against the public exports, and the runnable ones run', { timeout: 900_000 }, () => {
  const blocks = documentedBlocks();
  assert.ok(blocks.length >= 4, `found ${blocks.length} blocks`);
  const unknown = blocks.flatMap((b) => b.flags.filter((f) => f !== 'no-run').map((f) => `${b.doc}:${b.line - 1}: unknown fence flag '${f}' (only no-run)`));
  assert.deepEqual(unknown, []);
  // NOTE: inside the package (dist/ is ignored by git), so that 'kestrel' resolves to this checkout by self-reference.
  const root = join(REPO, 'dist', 'doc-examples');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, 'src'), { recursive: true });
  const files = blocks.map((block, i) => {
    const file = join(root, 'src', `${basename(block.doc, '.md')}-${String(i).padStart(2, '0')}.ts`);
    // NOTE: `export {}` keeps a block without imports a module of its own (no clash of names across blocks).
    writeFileSync(file, `${block.code}\nexport {};\n`);
    return file;
  });
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true,
    types: ['node'], lib: ['lib.es2022.d.ts'], rootDir: join(root, 'src'), outDir: join(root, 'out'), skipLibCheck: true, noEmitOnError: false,
  };
  const program = ts.createProgram(files, options);
  const errors = ts.getPreEmitDiagnostics(program).map((d) => {
    const at = d.file ? files.indexOf(d.file.fileName) : -1;
    const where = at >= 0 && d.start !== undefined ? `${blocks[at].doc}:${blocks[at].line + d.file!.getLineAndCharacterOfPosition(d.start).line}` : d.file?.fileName ?? 'tsc';
    return `${where}: TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
  assert.deepEqual(errors, [], 'documented examples must compile as written');
  program.emit();

  const failures: string[] = [];
  blocks.forEach((block, i) => {
    if (block.flags.includes('no-run')) return;
    const cwd = mkdtempSync(join(tmpdir(), 'kestrel-doc-'));
    const script = join(root, 'out', basename(files[i]).replace(/\.ts$/, '.js'));
    const result = spawnSync(process.execPath, [script], { cwd, encoding: 'utf8', timeout: 600_000, env: { ...process.env, KESTREL_THREADS: process.env.KESTREL_THREADS ?? '2' } });
    if (result.status !== 0) failures.push(`${block.doc}:${block.line - 1} (exit ${result.status ?? result.signal}): ${(result.stderr || String(result.error)).trim().split('\n').slice(-6).join('\n')}`);
    rmSync(cwd, { recursive: true, force: true });
  });
  assert.deepEqual(failures, [], 'runnable examples must run on the bundled sample (mark the others ```ts no-run)');
});
