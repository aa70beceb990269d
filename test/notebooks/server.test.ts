// `npm run notebook` as a user meets it: Jupyter Notebook on 127.0.0.1 with the Kestrel kernel, opened in a real
// browser (Debian's chromium driven by playwright-core): a new cell runs Kestrel code and shows a picture inline.
// With KESTREL_SCREENSHOT_DIR set, it also takes README's screenshot of an executed example notebook.
import test from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, launchChromium } from '../helpers/browser.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const SHOTS = process.env.KESTREL_SCREENSHOT_DIR;

function skipReason(): string | undefined {
  if (!existsSync(CHROMIUM)) return `no browser at ${CHROMIUM} (apt-get install chromium)`;
  if (spawnSync('sh', ['-c', 'command -v jupyter-notebook'], { stdio: 'ignore' }).status !== 0) return 'Jupyter is not installed (apt-get install jupyter-notebook)';
  return undefined;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 180_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('npm run notebook: Jupyter on 127.0.0.1 with the Kestrel kernel; a cell trains nothing but shows a Kestrel figure inline', { skip: skipReason(), timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-jupyter-'));
  const port = await freePort();
  const token = 'kestrel-test';
  const example = join(ROOT, 'examples', '02-keras-mnist-cnn.ipynb');
  copyFileSync(example, join(dir, 'example.ipynb'));
  const pictures = (readFileSync(example, 'utf8').match(/"image\/png"/g) ?? []).length;
  // NOTE: notebooks outside examples/ need `kestrel` resolvable from their folder, as a user's project has it.
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'kestrel'), 'dir');
  let server: ChildProcess | undefined;
  let log = '';
  const browser = await launchChromium();
  try {
    // NOTE: another folder, a known token, no browser: the script adds its defaults only for options not given.
    server = spawn('npm', ['run', '--silent', 'notebook', '--', '--no-browser', `--port=${port}`, `--NotebookApp.token=${token}`, `--notebook-dir=${dir}`],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    server.stdout!.on('data', (d) => { log += d; });
    server.stderr!.on('data', (d) => { log += d; });
    const base = `http://127.0.0.1:${port}`;
    const exited = new Promise<void>((r) => server!.on('exit', () => r()));
    let gone = false;
    void exited.then(() => { gone = true; });
    await until('the notebook server', async () => {
      if (gone) throw new Error(`npm run notebook exited:\n${log}`);
      try { return (await fetch(`${base}/api?token=${token}`)).ok; } catch { return false; }
    });
    assert.match(log, /--ip=127\.0\.0\.1/, 'bound to loopback');
    const specs = await (await fetch(`${base}/api/kernelspecs?token=${token}`)).json() as { kernelspecs: Record<string, { spec: { display_name: string } }> };
    assert.equal(specs.kernelspecs.kestrel?.spec.display_name, 'TypeScript (Kestrel)', 'the Kestrel kernel is offered');

    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`${base}/notebooks/example.ipynb?token=${token}`);
    await until('the kernel to start', () => page.evaluate('Boolean(window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected())'));
    assert.match((await page.textContent('.kernel_indicator_name')) ?? '', /TypeScript \(Kestrel\)/);
    assert.equal(await page.locator('.output_png img').count(), pictures, 'the example shows the pictures it was committed with');
    // A new first cell: Kestrel code that draws a chart and shows it inline.
    const code = [
      "import { plotHistory, display } from 'kestrel';",
      'const records = [1, 2, 3].map((epoch) => ({ epoch, trainLoss: 1 / epoch, validLoss: 1.1 / epoch, seconds: 1, samplesPerSecond: 1, lr: 1e-3, metrics: { accuracy: 0.6 + epoch / 10 } }));',
      "await display(plotHistory(records, { title: 'Drawn in the browser test' }));",
      "console.log('figure shown');",
    ].join('\n');
    await page.evaluate(`(() => { const cell = Jupyter.notebook.insert_cell_at_index('code', 0); cell.set_text(${JSON.stringify(code)}); cell.execute(); })()`);
    const first = page.locator('.cell').first();
    await until('the cell output', async () => (await first.locator('.output_png img').count()) > 0 || (await first.locator('.output_stderr').count()) > 0);
    assert.equal(await first.locator('.output_stderr').count(), 0, `no error: ${await first.locator('.output_stderr').first().textContent().catch(() => '')}`);
    await until('the printed line', async () => ((await first.locator('.output_text').allTextContents()).join('')).includes('figure shown'));
    const size = await first.locator('.output_png img').evaluate((img) => [(img as unknown as { naturalWidth: number }).naturalWidth, (img as unknown as { naturalHeight: number }).naturalHeight]);
    assert.deepEqual(size, [800, 500], 'the figure arrived as an 800x500 PNG');

    if (SHOTS) {
      mkdirSync(SHOTS, { recursive: true });
      // README's picture: the executed example at its training table and learning curves.
      await page.evaluate("Jupyter.notebook.delete_cell(0)");
      const curves = page.locator('.cell', { hasText: 'plotHistory(learn.history' }).first();
      const fit = page.locator('.cell', { hasText: 'await learn.fit(' }).first();
      await fit.scrollIntoViewIfNeeded();
      const top = (await fit.boundingBox())!.y;
      const bottom = (await curves.boundingBox())!;
      await page.setViewportSize({ width: 1100, height: Math.ceil(bottom.y + bottom.height - top + 180) });
      await fit.evaluate((el) => (el as unknown as { scrollIntoView(): void }).scrollIntoView());
      await page.screenshot({ path: join(SHOTS, 'notebook.png') });
    }
  } finally {
    await browser.close();
    if (server?.pid) {
      try { process.kill(-server.pid, 'SIGTERM'); } catch { /* already gone */ }
      await new Promise((r) => setTimeout(r, 1000));
      try { process.kill(-server.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
