#!/usr/bin/env node
// Decides whether the kestrel addon gets native/distributed.cc (c10d process groups) and with which backends.
// gloo: c10d's ProcessGroupGloo.hpp needs gloo's headers (Debian/Ubuntu: libgloo-dev; pip torch and the
// pytorch.org archive may ship them in include/). NCCL: a CUDA libtorch (libtorch_cuda.so) plus nccl.h and the
// CUDA runtime headers. Modes: --gloo / --nccl print 1 or 0 (binding.gyp conditions), --include prints the
// include dirs, --describe a sentence. Never fails the build: without gloo the addon builds without distributed.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { locate } = require('./find-libtorch.cjs');

const torch = locate();
const roots = [...torch.includes, '/usr/include', '/usr/local/include', '/opt/homebrew/include'];
const glooDir = roots.find((dir) => fs.existsSync(path.join(dir, 'gloo', 'algorithm.h')));
const c10dHeader = torch.includes.find((dir) => fs.existsSync(path.join(dir, 'torch', 'csrc', 'distributed', 'c10d', 'ProcessGroupGloo.hpp')));
// NOTE: reducer.hpp includes distributed-autograd's context.h, which Debian's libtorch-dev leaves out; shim/ declares
// the two types it names (a shared_ptr and a callback type, so the Reducer's layout is unchanged). The real header,
// where a libtorch has it, comes first on the include path and wins.
const shimDir = path.join(__dirname, 'shim');

function cudaDirs() {
  const homes = [process.env.CUDA_HOME, process.env.CUDA_PATH, '/usr/local/cuda'].filter(Boolean).map((h) => path.join(h, 'include'));
  const nccl = [process.env.NCCL_HOME && path.join(process.env.NCCL_HOME, 'include'), ...homes, ...roots,
    // pip wheels ship NCCL and the CUDA runtime as nvidia-* packages beside torch
    path.join(torch.libDir, '..', '..', 'nvidia', 'nccl', 'include')].filter(Boolean);
  const runtime = [...homes, ...roots, path.join(torch.libDir, '..', '..', 'nvidia', 'cuda_runtime', 'include')];
  const ncclDir = nccl.find((dir) => fs.existsSync(path.join(dir, 'nccl.h')));
  const runtimeDir = runtime.find((dir) => fs.existsSync(path.join(dir, 'cuda_runtime_api.h')));
  return ncclDir && runtimeDir ? [...new Set([ncclDir, runtimeDir])] : null;
}

// NOTE: KESTREL_DISTRIBUTED=0 builds without process groups even where gloo is found (packagers, checking that path).
const disabled = process.env.KESTREL_DISTRIBUTED === '0';
const gloo = Boolean(glooDir && c10dHeader) && !disabled;
const ncclDirs = gloo && torch.cuda ? cudaDirs() : null;
const mode = process.argv[2];
if (mode === '--gloo') {
  process.stdout.write(gloo ? '1' : '0');
} else if (mode === '--nccl') {
  process.stdout.write(ncclDirs ? '1' : '0');
} else if (mode === '--include') {
  // NOTE: the compiler's own folders stay implicit: -I/usr/include breaks libstdc++'s #include_next.
  const implicit = new Set(['/usr/include', '/usr/local/include']);
  process.stdout.write([...new Set([glooDir, ...(ncclDirs ?? []), shimDir])].filter((d) => d && !implicit.has(d)).join(' '));
} else {
  const why = disabled ? 'KESTREL_DISTRIBUTED=0' : !c10dHeader ? 'libtorch has no c10d headers' : !glooDir ? "gloo's headers were not found (Debian/Ubuntu: apt-get install libgloo-dev)" : '';
  process.stdout.write(`distributed: ${gloo ? `gloo (${glooDir})` : `unavailable: ${why}`}; nccl: ${ncclDirs ? ncclDirs.join(', ') : torch.cuda ? 'no (nccl.h or cuda_runtime_api.h not found; set NCCL_HOME / CUDA_HOME)' : 'no (CPU libtorch)'}\n`);
}
