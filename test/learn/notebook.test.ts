import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  DISPLAY, type MimeBundle, ProgressCallback, isDisplayable, notebookHost, preferredMime, setNotebookHost, tslabHost,
} from '../../src/learn/index.js';
import { LiveProgress, progressBundle } from '../../src/learn/notebook-progress.js';
import { blobLearner } from './fixtures.js';
import { recordingHost } from '../helpers/notebook.js';

test('in a notebook the Learner shows one live HTML table (a row per epoch, a bar while training) and prints nothing', async () => {
  const host = recordingHost();
  const written: string[] = [];
  const { write } = process.stdout;
  process.stdout.write = ((chunk: string) => { written.push(String(chunk)); return true; }) as typeof process.stdout.write;
  try {
    setNotebookHost(host);
    const learn = blobLearner({ progress: 'auto' });
    await learn.fit(3, 0.1);
  } finally {
    process.stdout.write = write;
    setNotebookHost(undefined);
  }
  // NOTE: node:test's runner talks to its parent over stdout too; only progress text matters here.
  const progressText = written.filter((t) => /trainLoss|epoch \d|\r|\x1b\[/.test(t));
  assert.deepEqual(progressText, [], 'no terminal text (no \\r, no escape codes) in a notebook');
  assert.equal(host.outputs.length, 1, 'one output per fit, updated in place');
  const updates = host.outputs[0];
  const bars = updates.filter((u) => u['text/html']!.includes('<progress'));
  assert.ok(bars.length >= 3, `the bar is drawn during every epoch (${bars.length} draws)`);
  assert.match(bars[0]['text/html']!, /<progress value="\d+" max="8"/, '8 batches per epoch');
  const last = updates.at(-1)!;
  assert.doesNotMatch(last['text/html']!, /<progress/, 'the finished table has no bar');
  assert.equal((last['text/html']!.match(/<tr>/g) ?? []).length, 1 + 3, 'a header and 3 epoch rows');
  assert.match(last['text/html']!, /<th[^>]*>accuracy<\/th>/);
  assert.match(last['text/plain']!, /^epoch\s+trainLoss\s+validLoss\s+accuracy/, 'a plain-text twin for viewers without HTML');
  assert.equal(host.shown.length, 0);
});

test('progress: explicit writers keep text output; mode notebook needs a host', () => {
  setNotebookHost(recordingHost());
  try {
    const out = { text: '', write(t: string) { this.text += t; }, isTTY: false };
    const callback = new ProgressCallback({ out });
    callback.beforeFit({ metrics: [] } as never);
    assert.match(out.text, /^epoch/, 'a caller-given writer means text even inside a notebook');
  } finally {
    setNotebookHost(null);
  }
  try {
    assert.throws(() => new ProgressCallback({ mode: 'notebook' }), /needs a notebook kernel/);
  } finally {
    setNotebookHost(undefined);
  }
});

test('progressBundle escapes text and LiveProgress throttles all but forced draws', () => {
  const bundle = progressBundle(['epoch', '<b>metric</b>'], [['1', '0.5']], { label: 'epoch 1/2', done: 3, total: 10, elapsedSeconds: 6, comment: 'loss 0.1' });
  assert.match(bundle['text/html']!, /&lt;b&gt;metric&lt;\/b&gt;/);
  assert.match(bundle['text/html']!, /<progress value="3" max="10"/);
  assert.match(bundle['text/plain']!, /epoch 1\/2 3\/10 \[0:06<0:14\] loss 0\.1/, 'elapsed<remaining, like fastai');
  let now = 0;
  const updates: MimeBundle[] = [];
  const live = new LiveProgress({ update: (b) => updates.push(b) }, 250, () => now);
  live.draw(() => bundle);
  now = 100; live.draw(() => bundle);
  now = 200; live.draw(() => bundle, true);
  now = 300; live.draw(() => bundle);
  now = 460; live.draw(() => bundle);
  assert.equal(updates.length, 3, 'draws at 0, the forced one at 200, then 460 (250 ms after 200)');
});

test('preferredMime picks the richest type a single-type kernel can show; the display protocol is Symbol.for("Jupyter.display")', () => {
  assert.deepEqual(preferredMime({ 'text/plain': 't', 'image/png': 'p' }), ['image/png', 'p']);
  assert.deepEqual(preferredMime({ 'text/plain': 't', 'image/png': 'p', 'text/html': 'h' }), ['text/html', 'h']);
  assert.deepEqual(preferredMime({}), ['text/plain', '']);
  assert.equal(DISPLAY, Symbol.for('Jupyter.display'));
  assert.ok(isDisplayable({ [Symbol.for('Jupyter.display')]: () => ({}) }));
  assert.ok(!isDisplayable({}) && !isDisplayable(null) && !isDisplayable('x'));
});

test('tslabHost sends one MIME type per message, a new display id per live output', () => {
  const calls: [string, string, string][] = [];
  let ids = 0;
  const display = (id: string) => ({ raw: (type: string, data: string | Uint8Array) => { calls.push([id, type, String(data)]); } });
  const host = tslabHost({ display: display('main'), newDisplay: () => display(`live${ids++}`) });
  host.display({ 'image/png': 'AAAA', 'text/plain': 'fig' });
  const live = host.live();
  live.update({ 'text/html': '<b>1</b>', 'text/plain': '1' });
  live.update({ 'text/html': '<b>2</b>' });
  assert.deepEqual(calls, [['main', 'image/png', 'AAAA'], ['live0', 'text/html', '<b>1</b>'], ['live0', 'text/html', '<b>2</b>']]);
});

test('notebookHost finds tslab only in a process started as `tslab kernel` (here: none; in a fake tslab: its display)', () => {
  setNotebookHost(undefined);
  assert.equal(notebookHost(), undefined, 'node --test is not a notebook kernel');
  // A stand-in tslab package: bin/tslab (the kernel's entry) beside the module whose display Kestrel uses.
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-fake-tslab-'));
  try {
    const root = join(dir, 'node_modules', 'tslab');
    mkdirSync(join(root, 'bin'), { recursive: true });
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'tslab', main: 'public.js' }));
    writeFileSync(join(root, 'public.js'), 'const shown = []; exports.shown = shown; exports.display = { raw: (t, d) => shown.push([t, d]) }; exports.newDisplay = () => exports.display;');
    const kestrel = new URL('../../src/learn/index.js', import.meta.url).href;
    // NOTE: the kernel's script imports Kestrel, asks for the host and displays through it, as a notebook cell would.
    writeFileSync(join(root, 'bin', 'tslab'), `import(${JSON.stringify(kestrel)}).then((k) => { const host = k.notebookHost(); host.display({ 'text/html': '<i>hi</i>' }); console.log(JSON.stringify([host.name, require('../public.js').shown])); });`);
    symlinkSync(join(root, 'bin', 'tslab'), join(dir, 'tslab-link'));
    const run = (args: string[]) => spawnSync(process.execPath, [join(dir, 'tslab-link'), ...args], { encoding: 'utf8' });
    const kernel = run(['kernel', '--config-path', 'x.json']);
    assert.equal(kernel.status, 0, kernel.stderr);
    assert.deepEqual(JSON.parse(kernel.stdout), ['tslab', [['text/html', '<i>hi</i>']]], 'found through the symlinked bin, the display reached its module');
    const notKernel = run(['install']);
    assert.notEqual(notKernel.status, 0, 'without the kernel command there is no host (host.display throws)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
