/**
 * Building the native addons on first use, for installs where npm skipped Kestrel's install script (npm 11 runs a
 * dependency's install script only when it is approved or unreviewed, and not at all with --ignore-scripts or under
 * strict-allow-scripts). Runs once, under a lock, with a message saying why and how long.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { addonPath, packageRoot } from './addon-path.js';

const APPROVE = 'approve Kestrel\'s install script with `npm install-scripts approve kestrel && npm rebuild kestrel` '
  + '(for a global install: `npm install -g kestrel --allow-scripts=kestrel`)';

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs `command` in the package root with its output on stderr (stdout belongs to the program); throws on failure. */
function step(label: string, command: string, args: string[], root: string): void {
  process.stderr.write(`$ ${[command === process.execPath ? 'node' : command, ...args].join(' ')}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) {
    throw new Error(`kestrel: ${label} failed (${result.error?.message ?? `exit code ${result.status}`}); see the output above, or ${APPROVE}`);
  }
}

function build(root: string): void {
  const prebuilt = process.env.KESTREL_PREBUILT_ADDONS;
  if (prebuilt) {
    // NOTE: a folder of addons built elsewhere for this platform and libtorch (a cluster, a Docker image, this test suite).
    process.stderr.write(`kestrel: copying the prebuilt addons from KESTREL_PREBUILT_ADDONS=${prebuilt}\n`);
    mkdirSync(join(root, 'build', 'Release'), { recursive: true });
    for (const name of ['kestrel.node', 'kestrel_image.node']) cpSync(join(prebuilt, name), join(root, 'build', 'Release', name));
    return;
  }
  step('checking the system packages', process.execPath, [join(root, 'scripts', 'system-deps.cjs'), 'build'], root);
  step('building the native addons', process.execPath, [join(root, 'scripts', 'build-addons.cjs')], root);
}

/**
 * Builds the addons when `build/Release/kestrel.node` is missing: the message says why and how to approve the install
 * script instead. `KESTREL_BUILD_ON_USE=0` turns this off (then the error names the approval step). Another process
 * building at the same time is waited for.
 */
export function ensureAddonsBuilt(): void {
  const target = addonPath('kestrel');
  if (existsSync(target)) return;
  const root = packageRoot();
  if (process.env.KESTREL_BUILD_ON_USE === '0') {
    throw new Error(`kestrel: the native engine is not built (${target} is missing): npm skipped Kestrel's install script. To build it, ${APPROVE}.`);
  }
  const lock = join(root, 'build.lock');
  try {
    mkdirSync(lock);
  } catch {
    // NOTE: another process holds the lock and is building; wait for it (up to 20 minutes), then use its result.
    process.stderr.write('kestrel: waiting for another process that is building the native addons...\n');
    for (let waited = 0; existsSync(lock) && !existsSync(target) && waited < 1_200_000; waited += 500) sleep(500);
    if (existsSync(target)) return;
    throw new Error(`kestrel: the native engine is still not built (${target}); remove ${lock} if no build is running, then try again`);
  }
  try {
    process.stderr.write('kestrel: the native addons are not built yet (npm skipped Kestrel\'s install script: it was denied, '
      + `--ignore-scripts was given, or npm blocks unapproved scripts). Building them now, once, in ${root} (1-3 minutes). `
      + `To build at install time instead, ${APPROVE}.\n`);
    build(root);
    if (!existsSync(target)) throw new Error(`kestrel: the build ended without ${target}`);
    process.stderr.write('kestrel: native addons built.\n');
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
