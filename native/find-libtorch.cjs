#!/usr/bin/env node
// Locates libtorch for the native build: $KESTREL_LIBTORCH (or $LIBTORCH), then a
// pip-installed torch (it bundles include/ and lib/), then the system's (Debian/Ubuntu
// libtorch-dev). Prints what binding.gyp asks for: `--include`, `--libs` or `--describe`.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const API_INCLUDE = path.join('torch', 'csrc', 'api', 'include');

function candidate(root, source) {
  const include = path.join(root, 'include');
  const lib = path.join(root, 'lib');
  if (!fs.existsSync(path.join(include, API_INCLUDE)) || !fs.existsSync(path.join(lib, 'libtorch_cpu.so'))) return null;
  return { source, includes: [include, path.join(include, API_INCLUDE)], libDir: lib, system: false };
}

function fromEnv() {
  const root = process.env.KESTREL_LIBTORCH || process.env.LIBTORCH;
  if (!root) return null;
  const found = candidate(root, `$KESTREL_LIBTORCH=${root}`);
  if (!found) fail(`KESTREL_LIBTORCH=${root} has no include/${API_INCLUDE} and lib/libtorch_cpu.so`);
  return found;
}

function fromPip() {
  // NOTE: KESTREL_PYTHON, when set, is the only Python asked (a venv's, or none at all with a path that does not exist).
  const pythons = process.env.KESTREL_PYTHON ? [process.env.KESTREL_PYTHON] : ['python3', '/usr/bin/python3', 'python'];
  for (const python of pythons) {
    try {
      const dir = execFileSync(python, ['-c', 'import torch, os; print(os.path.dirname(torch.__file__))'], {
        stdio: ['ignore', 'pipe', 'ignore'], timeout: 60000,
      }).toString().trim();
      const found = candidate(dir, `torch of ${python} (${dir})`);
      if (found) return found;
    } catch { /* no torch for this python */ }
  }
  return null;
}

function fromSystem() {
  const multiarch = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib'];
  for (const prefix of ['/usr', '/usr/local']) {
    const include = path.join(prefix, 'include');
    if (!fs.existsSync(path.join(include, API_INCLUDE))) continue;
    const libDir = multiarch.find((dir) => fs.existsSync(path.join(dir, 'libtorch_cpu.so')));
    if (libDir) return { source: `system (${include}, ${libDir})`, includes: [include, path.join(include, API_INCLUDE)], libDir, system: true };
  }
  return null;
}

function fail(message) {
  process.stderr.write(`\nkestrel: ${message}\n\n` +
    'Kestrel needs libtorch (PyTorch\'s C++ library) to build its engine. Install one of:\n' +
    '  - Debian/Ubuntu: sudo apt-get install libtorch-dev libopenblas0-openmp\n' +
    '  - pip: pip install torch   (Kestrel uses the include/ and lib/ inside the torch package)\n' +
    '  - the libtorch archive from pytorch.org, unpacked, with KESTREL_LIBTORCH=/path/to/libtorch\n\n');
  process.exit(1);
}

/** The libtorch the build uses: { source, includes, libDir, system, cuda } (exits with a message when none). */
function locate() {
  const found = fromEnv() || fromPip() || fromSystem();
  if (!found) fail('libtorch was not found.');
  return { ...found, cuda: fs.existsSync(path.join(found.libDir, 'libtorch_cuda.so')) };
}

function main() {
  const found = locate();
  const mode = process.argv[2];
  if (mode === '--include') {
    process.stdout.write(found.includes.join(' '));
  } else if (mode === '--libs') {
    const libs = [`-L${found.libDir}`];
    if (!found.system) libs.push(`-Wl,-rpath,${found.libDir}`);
    // NOTE: CUDA kernels register from static initialisers, so keep libtorch_cuda linked even
    // though no symbol of it is referenced directly.
    if (found.cuda) libs.push('-Wl,--no-as-needed', '-ltorch_cuda', '-lc10_cuda', '-Wl,--as-needed');
    libs.push('-ltorch_cpu', '-lc10');
    process.stdout.write(libs.join(' '));
  } else {
    process.stdout.write(`libtorch: ${found.source}${found.cuda ? ' (CUDA)' : ' (CPU)'}\n`);
  }
}

// NOTE: native/find-distributed.cjs reuses locate(); scripts/system-deps.cjs asks whether a non-system
// libtorch is there (then Debian's is not needed). Either prints nothing; run itself, this prints.
if (require.main === module) main();
else module.exports = { locate, fromEnv, fromPip, fromSystem };
