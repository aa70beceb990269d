// Everything the notebooks need around Kestrel, made ready on demand (used by `npm run notebook` and
// `npm run notebooks`): Jupyter from Debian's packages, the tslab TypeScript kernel in scripts/jupyter, a
// built Kestrel, and the `kestrel` name resolvable from examples/.
//
// NOTE: tslab is not a devDependency of the root package: it bundles a TypeScript 5.0 fork whose `tsc` bin
// takes over node_modules/.bin/tsc (checked with a fresh `npm ci`), which would break `npm run build` and
// `npm test`. It lives in its own small package here, with its own lockfile, installed on first use.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const JUPYTER_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(JUPYTER_DIR, '..', '..');
export const EXAMPLES = join(ROOT, 'examples');
/** The kernel name the notebooks' metadata asks for (scripts/jupyter/kernels/kestrel/kernel.json). */
export const KERNEL = 'kestrel';
/** Debian packages: the notebook server, nbconvert and nbclient (headless execution). Keep in step with .ci/run. */
export const JUPYTER_PACKAGES = ['jupyter-notebook', 'jupyter-nbconvert', 'python3-nbclient'];

const log = (line) => process.stderr.write(`notebook: ${line}\n`);

function run(command, args, options = {}) {
  log(`$ ${[command, ...args].join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.status !== 0) throw new Error(`'${[command, ...args].join(' ')}' failed (exit ${result.status ?? result.signal})`);
}

function onPath(binary) {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
}

function dpkgInstalled(name) {
  const result = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return result.status === 0 && result.stdout.includes('install ok installed');
}

/** Installs the Debian packages Jupyter needs when they are missing and this user can (root or passwordless sudo); otherwise says the command. */
export function ensureJupyter() {
  const missing = existsSync('/usr/bin/dpkg-query') ? JUPYTER_PACKAGES.filter((p) => !dpkgInstalled(p)) : (onPath('jupyter-nbconvert') && onPath('jupyter-notebook') ? [] : JUPYTER_PACKAGES);
  if (missing.length === 0) return;
  const command = `sudo apt-get install -y ${missing.join(' ')}`;
  const root = process.getuid?.() === 0;
  const sudo = !root && onPath('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  if (process.env.KESTREL_SYSTEM_DEPS === '0' || !onPath('apt-get') || (!root && !sudo)) {
    throw new Error(`Jupyter is not installed (missing ${missing.join(', ')}). Install it with:\n  ${command}\n(or any Jupyter with nbconvert/nbclient on PATH)`);
  }
  // NOTE: as .ci/run does: print each command, then run it (through `sudo -n` when not root).
  const apt = (args) => (root
    ? run('apt-get', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
    : run('sudo', ['-n', 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args]));
  apt(['update', '-q']);
  apt(['install', '-y', '-q', '--no-install-recommends', ...missing]);
}

/** Node must load Kestrel's ES modules through require() (tslab compiles cells to CommonJS): Node 20.19+ or 22.12+. */
export function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  const ok = major >= 23 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19);
  if (!ok) throw new Error(`the notebooks need Node.js 20.19+ or 22.12+ (tslab loads Kestrel's ES modules with require()); this is ${process.version}`);
}

/** Installs tslab into scripts/jupyter/node_modules from its lockfile when it is missing. */
export function ensureKernel() {
  if (existsSync(join(JUPYTER_DIR, 'node_modules', 'tslab', 'bin', 'tslab'))) return;
  // NOTE: --ignore-scripts: tslab's only native dependency, zeromq, ships prebuilt binaries for Linux, macOS and
  // Windows, so its install script (which would compile libzmq with cmake when no prebuilt one loads) is not needed.
  run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: JUPYTER_DIR });
}

/** Builds Kestrel (dist/) when it has not been built. */
export function ensureBuilt() {
  if (existsSync(join(ROOT, 'dist', 'src', 'index.js'))) return;
  run('npm', ['run', 'build'], { cwd: ROOT });
}

/**
 * Makes `import ... from 'kestrel'` type-check in notebooks of `dir` (default examples/): tslab resolves types
 * the classic Node way, from node_modules, so `dir`/node_modules/kestrel links to this repository (relative
 * inside it, absolute elsewhere). At run time Node then loads the same package through the link.
 */
export function linkKestrel(dir = EXAMPLES) {
  const modules = join(dir, 'node_modules');
  const link = join(modules, 'kestrel');
  const target = resolve(dir).startsWith(ROOT + sep) ? relative(modules, ROOT) : ROOT;
  mkdirSync(modules, { recursive: true });
  try {
    if (lstatSync(link).isSymbolicLink() && readlinkSync(link) === target) return;
    rmSync(link, { recursive: true, force: true });
  } catch { /* absent */ }
  symlinkSync(target, link, 'dir');
}

/** The environment under which Jupyter finds the Kestrel kernel (JUPYTER_PATH gains scripts/jupyter). */
export function jupyterEnv(extra = {}) {
  const path = [JUPYTER_DIR, process.env.JUPYTER_PATH].filter(Boolean).join(':');
  return { ...process.env, JUPYTER_PATH: path, ...extra };
}

/** Everything above, in order; returns the environment to run Jupyter with. */
export function prepare() {
  checkNode();
  ensureJupyter();
  ensureKernel();
  ensureBuilt();
  linkKestrel();
  return jupyterEnv();
}

/** The Jupyter version line (for logs). */
export function jupyterVersion() {
  try { return execFileSync('jupyter', ['--version'], { encoding: 'utf8' }).split('\n').filter((l) => /notebook|nbconvert|nbclient/.test(l)).join(', '); } catch { return 'unknown'; }
}
