#!/usr/bin/env node
// The Debian/Ubuntu packages Kestrel needs, installed when missing and possible (root, or passwordless sudo, and
// apt-get): `build` (npm's preinstall, before node-gyp) needs them or stops with the exact command to run; `test`
// (npm's pretest) installs the test-only ones or says, one line each, which tests will skip and why.
// KESTREL_SYSTEM_DEPS=0 turns the check off. Each command is printed before it runs.
//
// Usage: node scripts/system-deps.cjs build|test|list
// Test hooks: KESTREL_DPKG_QUERY and KESTREL_APT_GET name the programs to run instead of dpkg-query and apt-get.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');

/** What `npm install` needs: compilers for node-gyp, libtorch (the engine), libjpeg-turbo (the image addon). */
const BUILD = [
  { name: 'g++', why: 'compiles the native addons' },
  { name: 'make', why: 'runs the addon build' },
  { name: 'python3', why: 'runs node-gyp' },
  { name: 'libtorch-dev', why: 'the engine (PyTorch\'s C++ library)', libtorch: true },
  { name: 'libopenblas0-openmp', why: 'fast BLAS for libtorch (the reference BLAS is several times slower)', libtorch: true },
  { name: 'libjpeg-dev', why: 'the loader\'s JPEG fast path (libjpeg-turbo)' },
  // NOTE: gloo's headers are read when the addon compiles; installed after it, distributed training would stay off.
  { name: 'libgloo-dev', why: 'data-parallel training across processes (c10d process groups over gloo) is off', optional: true },
];

/** What only `npm test` needs: references and real data; without them, the tests that use them skip. */
const TEST = [
  { name: 'dataset-fashion-mnist', why: 'the Fashion-MNIST accuracy and real-data tests skip' },
  { name: 'python3-torch', why: 'the parity tests against PyTorch skip' },
  { name: 'python3-torchvision', why: 'the parity tests against torchvision skip' },
  { name: 'python3-pil', why: 'the decoding parity tests against PIL skip' },
  { name: 'python3-sklearn', why: 'the scikit-learn digits CSV test skips' },
  { name: 'python3-skimage', why: 'the decoder tests on scikit-image\'s sample photos skip' },
  { name: 'python-matplotlib-data', why: 'the decoder tests on matplotlib\'s sample photo skip' },
  { name: 'chromium', why: 'the browser tests skip' },
  { name: 'jupyter-notebook', why: 'the notebook server and its browser test skip' },
  { name: 'jupyter-nbconvert', why: 'the example notebooks are not executed' },
  { name: 'python3-nbclient', why: 'the example notebooks are not executed' },
];

const say = (line) => process.stdout.write(`kestrel: ${line}\n`);

/** Which of `names` dpkg lists as installed ("ii"); null when this is not a dpkg system. */
function installed(names) {
  const dpkgQuery = process.env.KESTREL_DPKG_QUERY || 'dpkg-query';
  // NOTE: dpkg-query exits 1 when some package is unknown, but still lists the others on stdout.
  const result = spawnSync(dpkgQuery, ['-W', '-f=${db:Status-Abbrev}\t${Package}\n', ...names], { encoding: 'utf8' });
  if (result.error) return null;
  const found = new Set();
  for (const line of result.stdout.split('\n')) {
    const [status, name] = line.split('\t');
    if (status && status.startsWith('ii') && name) found.add(name.split(':')[0]);
  }
  return found;
}

/** True when a libtorch other than Debian's is configured or importable (then libtorch-dev is not needed). */
function otherLibtorch() {
  if (process.env.KESTREL_LIBTORCH || process.env.LIBTORCH) return true;
  const { fromPip } = require('../native/find-libtorch.cjs');
  return Boolean(fromPip());
}

/** How to run apt-get here: '' as root, 'sudo' with passwordless sudo, null when neither works. */
function privilege() {
  if (process.getuid && process.getuid() === 0) return '';
  try {
    execFileSync('sudo', ['-n', 'true'], { stdio: 'ignore', timeout: 10000 });
    return 'sudo';
  } catch {
    return null;
  }
}

function aptGetPresent(aptGet) {
  return !spawnSync(aptGet, ['--version'], { stdio: 'ignore' }).error;
}

/** Runs one command with its output shown, after printing it; false when it fails. */
function run(prefix, aptGet, args) {
  // NOTE: through `env`, because sudo resets the environment; printed exactly as it runs.
  const argv = [...(prefix ? [prefix] : []), 'env', 'DEBIAN_FRONTEND=noninteractive', aptGet, ...args];
  process.stdout.write(`$ ${argv.join(' ')}\n`);
  const result = spawnSync(argv[0], argv.slice(1), { stdio: 'inherit' });
  if (result.status === 0) return true;
  say(`apt-get ${args[0]} failed (${result.error ? result.error.message : `exit ${result.status}`})`);
  return false;
}

function main() {
  const mode = process.argv[2];
  const wanted = mode === 'build' ? BUILD : mode === 'test' ? TEST : mode === 'list' ? [...BUILD, ...TEST] : null;
  if (!wanted) {
    process.stderr.write('usage: node scripts/system-deps.cjs build|test|list\n');
    return 2;
  }
  if (mode === 'list') { process.stdout.write(`${wanted.map((p) => p.name).join(' ')}\n`); return 0; }
  if (process.env.KESTREL_SYSTEM_DEPS === '0') {
    say(`KESTREL_SYSTEM_DEPS=0: not checking the system packages for ${mode === 'build' ? 'the build' : 'the tests'}`);
    return 0;
  }
  const needed = mode === 'build' && otherLibtorch() ? wanted.filter((p) => !p.libtorch) : wanted;
  const present = installed(needed.map((p) => p.name));
  if (!present) {
    if (mode === 'build') say('no dpkg-query here (not Debian/Ubuntu): install a C++ compiler, make, Python 3, libtorch and libjpeg-turbo yourself (README, "libtorch on other machines")');
    return 0;
  }
  const missing = needed.filter((p) => !present.has(p.name));
  if (missing.length === 0) return 0;
  // NOTE: optional build packages (gloo's headers) are installed when possible; without them the build goes on, that feature off.
  const optionalOnly = mode === 'build' && missing.every((p) => p.optional);
  const sayOptional = () => { for (const p of missing.filter((q) => q.optional)) say(`${p.name} is missing, so ${p.why} (install it, then npm rebuild)`); };
  const names = missing.map((p) => p.name);
  const aptGet = process.env.KESTREL_APT_GET || 'apt-get';
  const prefix = privilege();
  const install = ['install', '-y', '-q', '--no-install-recommends', ...names];
  if (prefix !== null && aptGetPresent(aptGet)) {
    say(`installing the system packages ${mode === 'build' ? 'Kestrel needs' : 'the tests need'}: ${names.join(' ')}`);
    if (run(prefix, aptGet, ['update', '-q']) && run(prefix, aptGet, install)) return 0;
    if (mode === 'test') { for (const p of missing) say(`${p.name} is missing, so ${p.why}`); return 0; }
    if (optionalOnly) { sayOptional(); return 0; }
    return 1;
  }
  const required = mode === 'build' ? missing.filter((p) => !p.optional) : missing;
  const command = `${process.getuid && process.getuid() === 0 ? '' : 'sudo '}apt-get install -y --no-install-recommends ${(optionalOnly ? missing : required).map((p) => p.name).join(' ')}`;
  const why = prefix === null ? 'not root and no passwordless sudo' : 'apt-get not found';
  if (optionalOnly) {
    sayOptional();
    say(`to turn it on (${why}): ${command}`);
    return 0;
  }
  if (mode === 'test') {
    for (const p of missing) say(`${p.name} is missing, so ${p.why}`);
    say(`to run them (${why}): ${command}`);
    return 0;
  }
  sayOptional();
  say(`missing system packages: ${required.map((p) => `${p.name} (${p.why})`).join(', ')}.`);
  say(`Cannot install them here (${why}). Run:\n\n    ${command}\n\nthen npm install again (KESTREL_SYSTEM_DEPS=0 skips this check, e.g. with KESTREL_LIBTORCH set).`);
  return 1;
}

process.exitCode = main();
