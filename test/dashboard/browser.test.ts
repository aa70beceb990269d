// In a real browser (Debian's chromium driven by playwright-core): the live dashboard during a training run,
// its stop button and --resume, the runs page, and the offline HTML report. Screenshots go to test-artifacts/.
import test from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sampleDir } from '../../src/data/index.js';

const CHROMIUM = process.env.KESTREL_CHROMIUM ?? '/usr/bin/chromium';
const BIN = fileURLToPath(new URL('../../../bin/kestrel.js', import.meta.url));
const ARTIFACTS = process.env.KESTREL_ARTIFACTS ?? fileURLToPath(new URL('../../../test-artifacts', import.meta.url));
const XSS = '<img src=x onerror=alert(1)>';
const skip = existsSync(CHROMIUM) ? undefined : `no browser at ${CHROMIUM} (apt-get install chromium)`;

type Browser = import('playwright-core').Browser;
type Page = import('playwright-core').Page;

async function launch(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  // NOTE: launch() gives every browser a fresh temporary profile (Playwright refuses --user-data-dir here).
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** The bundled sample with class 0 renamed to an HTML-injection attempt. */
function hostileSample(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-xss-'));
  for (const name of ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) copyFileSync(join(sampleDir(), name), join(dir, name));
  const classes = readFileSync(join(sampleDir(), 'classes.txt'), 'utf8').split('\n');
  classes[0] = XSS;
  writeFileSync(join(dir, 'classes.txt'), classes.join('\n'));
  return dir;
}

function kestrel(args: string[]): { process: ChildProcess; output: () => string; exit: Promise<number> } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KESTREL_THREADS: '2' } });
  let output = '';
  child.stdout!.on('data', (d) => { output += d; });
  child.stderr!.on('data', (d) => { output += d; });
  return { process: child, output: () => output, exit: new Promise((resolve) => child.on('exit', (code) => resolve(code ?? -1))) };
}

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 120000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Asserts the hostile class name shows as text and nothing was injected (no <img src=x>, no dialog). */
async function assertEscaped(page: Page, dialogs: string[], where: string): Promise<void> {
  assert.ok((await page.textContent('body'))!.includes(XSS), `${where}: the class name is shown as text`);
  assert.equal(await page.locator('img[src="x"]').count(), 0, `${where}: no injected image`);
  assert.deepEqual(dialogs, [], `${where}: no script ran`);
}

test('dashboard, stop and resume, runs page and report in a real browser', { skip, timeout: 600000 }, async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const data = hostileSample();
  const root = mkdtempSync(join(tmpdir(), 'kestrel-runs-'));
  const out = join(root, 'run1');
  const browser = await launch();
  try {
    // ---- live dashboard during training ----
    const train = kestrel(['train', data, '--epochs', '4', '--seed', '3', '--out', out, '--dashboard', '0']);
    const url = await until('the dashboard URL', () => /dashboard at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(train.output())?.[1]);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const dialogs: string[] = [];
    page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // NOTE: the server answers between training batches; on a loaded machine the page takes a while.
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 180000 });
    const count = async () => Number(await page.textContent('#batch-count'));
    const first = await until('batch points', async () => { const n = await count(); return n > 0 ? n : undefined; });
    await until('more batch points arriving while training runs', async () => (await count()) > first);
    await until('epoch 1 in the table', () => page.locator('#epochs tr[data-epoch="1"]').count());
    // ---- the stop button ends training after the current batch, with a checkpoint ----
    // NOTE: pressed as soon as epoch 1 is shown, so even a fast machine is still training epoch 2, 3 or 4.
    assert.equal(await page.textContent('#status'), 'running');
    await page.click('#stop');
    assert.equal(await train.exit, 0, train.output());
    assert.match(train.output(), /stopped at epoch [234], batch \d+ \(stopped from the dashboard\)/);
    await until('the page to show the stop', async () => (await page.textContent('#status')) === 'stopped');
    await until('the confusion matrix', () => page.locator('#confusion svg').count());
    await assertEscaped(page, dialogs, 'dashboard');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { epochs: Record<string, number>[]; stopped: { epoch: number } };
    assert.ok(metrics.stopped && metrics.epochs.length === metrics.stopped.epoch - 1);
    // numbers on the page equal metrics.json, exactly
    for (const epoch of metrics.epochs) {
      for (const key of ['trainLoss', 'validLoss', 'accuracy', 'lr']) {
        const shown = await page.getAttribute(`#epochs tr[data-epoch="${epoch.epoch}"] td[data-key="${key}"]`, 'data-value');
        assert.equal(Number(shown), epoch[key], `epoch ${epoch.epoch} ${key}`);
      }
    }
    assert.deepEqual(errors, []);
    await page.close();

    // ---- --resume continues to the end; --report writes the report ----
    const resume = kestrel(['train', data, '--epochs', '4', '--seed', '3', '--out', out, '--resume', out, '--report']);
    assert.equal(await resume.exit, 0, resume.output());
    assert.match(resume.output(), /resuming from .* after epoch [123] of 4/);
    const done = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { epochs: { epoch: number }[]; run: { command: string } };
    assert.deepEqual(done.epochs.map((e) => e.epoch), [1, 2, 3, 4]);
    assert.match(done.run.command, /^kestrel train .* --resume .* --report$/);

    // ---- the report opens offline and shows every section ----
    const context = await browser.newContext({ offline: true, viewport: { width: 1280, height: 900 } });
    const requests: string[] = [];
    context.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url()); });
    const report = await context.newPage();
    const reportDialogs: string[] = [];
    report.on('dialog', (d) => { reportDialogs.push(d.message()); void d.dismiss(); });
    await report.goto(`file://${join(out, 'report.html')}`);
    for (const id of ['run', 'dataset', 'model', 'training', 'metrics', 'confusion', 'top-losses', 'gradcam']) {
      assert.ok(await report.locator(`section#${id}`).isVisible(), `section ${id}`);
      const images = await report.locator(`section#${id} img`).evaluateAll((imgs) => imgs.map((i) => (i as unknown as { naturalWidth: number }).naturalWidth));
      assert.ok(images.every((w) => w > 0), `section ${id}: every picture loaded offline`);
    }
    assert.ok((await report.locator('section#gradcam img').count()) > 0 && (await report.locator('section#training img').count()) === 2);
    assert.deepEqual(requests, [], 'the report fetches nothing');
    assert.equal(await report.locator('script').count(), 0, 'the report has no scripts');
    await assertEscaped(report, reportDialogs, 'report');
    await report.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
    await context.close();

    // ---- the runs page overlays every run of a folder ----
    const copy = join(root, 'run2');
    mkdirSync(copy);
    const m2 = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    m2.epochs = m2.epochs.map((e: Record<string, number>) => ({ ...e, validLoss: e.validLoss * 1.1 }));
    writeFileSync(join(copy, 'metrics.json'), JSON.stringify(m2));
    const runs = kestrel(['dashboard', root, '--port', '0']);
    const runsUrl = await until('the runs page URL', () => /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(runs.output())?.[1]);
    const runsPage = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await runsPage.goto(runsUrl, { waitUntil: 'domcontentloaded', timeout: 180000 });
    await until('both runs', () => runsPage.evaluate(() => (globalThis as unknown as { __kestrelRuns?: number }).__kestrelRuns === 2));
    assert.deepEqual(await runsPage.locator('#runs tbody tr').evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { run: string } }).dataset.run)), ['run1', 'run2']);
    assert.equal(await runsPage.locator('#chart-valid svg').count(), 1);
    await runsPage.screenshot({ path: join(ARTIFACTS, 'runs.png'), fullPage: true });
    runs.process.kill('SIGINT');
    assert.equal(await runs.exit, 0);
  } finally {
    await browser.close();
  }
});

test('kestrel dashboard refuses a missing folder; train --host needs --dashboard', () => {
  const missing = spawnSync(process.execPath, [BIN, 'dashboard', '/nonexistent/runs', '--port', '0'], { encoding: 'utf8' });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /runs folder '\/nonexistent\/runs' is not a directory/);
  const host = spawnSync(process.execPath, [BIN, 'train', '--host', '0.0.0.0'], { encoding: 'utf8' });
  assert.equal(host.status, 2);
  assert.match(host.stderr, /--host only applies with --dashboard/);
});
