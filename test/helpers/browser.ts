/** Test helper: Debian's Chromium driven by playwright-core, and a static file server on 127.0.0.1. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import type { Browser, Page } from 'playwright-core';

/** Where the system Chromium lives (apt-get install chromium). */
export const CHROMIUM = process.env.KESTREL_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Skip reason for node:test when no Chromium is installed (undefined when it is). */
export function skipWithoutChromium(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `Chromium not found at ${CHROMIUM} (apt-get install chromium)`;
}

/** Starts headless Chromium with the flags this closed network needs (no background connections). */
export async function launchChromium(): Promise<Browser> {
  // NOTE: Playwright gives every launch a fresh temporary profile itself.
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
  '.json': 'application/json', '.png': 'image/png', '.onnx': 'application/octet-stream',
};

/** Serves `root` read-only on 127.0.0.1 (a free port); resolves with its URL and a close function. */
export async function serveStatic(root: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = normalize(join(root, decodeURIComponent((req.url ?? '/').split('?')[0]).replace(/\/$/, '/index.html')));
    if (!path.startsWith(root + sep) || !existsSync(path) || !statSync(path).isFile()) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream' });
    res.end(readFileSync(path));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Polls the text of `selector` until `accept` says yes (the test files are compiled without DOM types). */
export async function waitForText(page: Page, selector: string, accept: (text: string) => boolean, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = (await page.textContent(selector)) ?? '';
    if (accept(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${selector}; its text is ${JSON.stringify(text.slice(0, 300))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
