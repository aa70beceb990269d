import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../../scripts/system-deps.cjs', import.meta.url));
const BUILD = ['g++', 'make', 'python3', 'libtorch-dev', 'libopenblas0-openmp', 'libjpeg-dev', 'libgloo-dev'];
const root = typeof process.getuid === 'function' && process.getuid() === 0;

/** A folder with a fake dpkg-query (answering from $FAKE_INSTALLED) and a fake apt-get (logging its arguments). */
function fakes(): { dir: string; log: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-sysdeps-'));
  chmodSync(dir, 0o755);
  const log = join(dir, 'apt.log');
  writeFileSync(join(dir, 'dpkg-query'), `#!/bin/sh
# fake dpkg-query -W -f=FORMAT PACKAGE...: "ii<TAB>name" for installed ones, an error for the others
shift 2; status=0
for p in "$@"; do
  case " $FAKE_INSTALLED " in *" $p "*) printf 'ii \\t%s\\n' "$p" ;; *) echo "dpkg-query: no packages found matching $p" >&2; status=1 ;; esac
done
exit $status
`, { mode: 0o755 });
  writeFileSync(join(dir, 'apt-get'), `#!/bin/sh
[ "$1" = "--version" ] && exit 0
echo "fake apt-get $* (DEBIAN_FRONTEND=$DEBIAN_FRONTEND)"; echo "$*" >> "${log}"; exit \${FAKE_APT_EXIT:-0}
`, { mode: 0o755 });
  return { dir, log };
}

function check(mode: 'build' | 'test', env: Record<string, string>, uid?: number): { code: number; out: string } {
  // NOTE: another user may not be able to read the checkout (a clone under a 0700 mktemp folder): run a copy
  // of the script and the one file it loads (native/find-libtorch.cjs) from a world-readable folder.
  let script = SCRIPT;
  if (uid !== undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'kestrel-sysdeps-script-'));
    for (const [from, to] of [[SCRIPT, 'scripts/system-deps.cjs'], [join(SCRIPT, '../../native/find-libtorch.cjs'), 'native/find-libtorch.cjs']]) {
      mkdirSync(dirname(join(dir, to)), { recursive: true, mode: 0o755 });
      copyFileSync(from, join(dir, to));
      chmodSync(join(dir, to), 0o644);
    }
    chmodSync(dir, 0o755);
    script = join(dir, 'scripts/system-deps.cjs');
  }
  const result = spawnSync(process.execPath, [script, mode], {
    encoding: 'utf8', uid, gid: uid,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', KESTREL_PYTHON: '/nonexistent/python3', ...env },
  });
  return { code: result.status ?? -1, out: result.stdout + result.stderr };
}

test('all packages present: nothing to do; KESTREL_SYSTEM_DEPS=0: not even a check', () => {
  const { dir, log } = fakes();
  const env = { KESTREL_DPKG_QUERY: join(dir, 'dpkg-query'), KESTREL_APT_GET: join(dir, 'apt-get') };
  assert.deepEqual(check('build', { ...env, FAKE_INSTALLED: BUILD.join(' ') }), { code: 0, out: '' });
  const off = check('build', { ...env, FAKE_INSTALLED: '', KESTREL_SYSTEM_DEPS: '0' });
  assert.deepEqual(off, { code: 0, out: 'kestrel: KESTREL_SYSTEM_DEPS=0: not checking the system packages for the build\n' });
  assert.ok(!existsSync(log), 'apt-get never ran');
  // with a libtorch of its own, Debian's is not asked for
  assert.equal(check('build', { ...env, FAKE_INSTALLED: 'g++ make python3 libjpeg-dev libgloo-dev', KESTREL_LIBTORCH: '/opt/libtorch' }).code, 0);
});

test('as root, missing packages are installed, each apt-get command printed before it runs', { skip: root ? undefined : 'needs root' }, () => {
  const { dir, log } = fakes();
  const env = { KESTREL_DPKG_QUERY: join(dir, 'dpkg-query'), KESTREL_APT_GET: join(dir, 'apt-get'), FAKE_INSTALLED: 'g++ make python3 libopenblas0-openmp libgloo-dev' };
  const { code, out } = check('build', env);
  assert.equal(code, 0, out);
  const apt = join(dir, 'apt-get');
  assert.equal(out, [
    'kestrel: installing the system packages Kestrel needs: libtorch-dev libjpeg-dev',
    `$ env DEBIAN_FRONTEND=noninteractive ${apt} update -q`,
    'fake apt-get update -q (DEBIAN_FRONTEND=noninteractive)',
    `$ env DEBIAN_FRONTEND=noninteractive ${apt} install -y -q --no-install-recommends libtorch-dev libjpeg-dev`,
    'fake apt-get install -y -q --no-install-recommends libtorch-dev libjpeg-dev (DEBIAN_FRONTEND=noninteractive)', '',
  ].join('\n'));
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['update -q', 'install -y -q --no-install-recommends libtorch-dev libjpeg-dev']);

  const failing = check('build', { ...env, FAKE_APT_EXIT: '100' });
  assert.equal(failing.code, 1);
  assert.match(failing.out, /kestrel: apt-get update failed \(exit 100\)\n$/);
  const tests = check('test', { ...env, FAKE_APT_EXIT: '100', FAKE_INSTALLED: 'python3-torch python3-torchvision python3-pil python3-sklearn python3-skimage python-matplotlib-data chromium jupyter-notebook jupyter-nbconvert python3-nbclient' });
  assert.equal(tests.code, 0, 'a test package that cannot be installed only makes its tests skip');
  assert.match(tests.out, /kestrel: dataset-fashion-mnist is missing, so the Fashion-MNIST accuracy and real-data tests skip\n$/);
});

test('without apt-get, or as a user without sudo: one clear message with the exact command (build stops, tests skip)', { skip: root ? undefined : 'needs root to run the check as another user' }, () => {
  const { dir } = fakes();
  const env = { KESTREL_DPKG_QUERY: join(dir, 'dpkg-query'), FAKE_INSTALLED: 'g++ make python3' };
  const noApt = check('build', { ...env, KESTREL_APT_GET: join(dir, 'no-such-apt-get') });
  assert.equal(noApt.code, 1);
  assert.match(noApt.out, /Cannot install them here \(apt-get not found\)\. Run:\n\n {4}apt-get install -y --no-install-recommends libtorch-dev libopenblas0-openmp libjpeg-dev\n/);

  // NOTE: uid 65534 is `nobody`: not root, and no sudo (this machine has none; elsewhere nobody has no sudo rights).
  const user = check('build', { ...env, KESTREL_APT_GET: join(dir, 'apt-get') }, 65534);
  assert.equal(user.code, 1, user.out);
  assert.equal(user.out, 'kestrel: libgloo-dev is missing, so data-parallel training across processes (c10d process groups over gloo) is off (install it, then npm rebuild)\n'
    + 'kestrel: missing system packages: libtorch-dev (the engine (PyTorch\'s C++ library)), '
    + 'libopenblas0-openmp (fast BLAS for libtorch (the reference BLAS is several times slower)), libjpeg-dev (the loader\'s JPEG fast path (libjpeg-turbo)).\n'
    + 'kestrel: Cannot install them here (not root and no passwordless sudo). Run:\n\n'
    + '    sudo apt-get install -y --no-install-recommends libtorch-dev libopenblas0-openmp libjpeg-dev\n\n'
    + 'then npm install again (KESTREL_SYSTEM_DEPS=0 skips this check, e.g. with KESTREL_LIBTORCH set).\n');
  const tests = check('test', { ...env, KESTREL_APT_GET: join(dir, 'apt-get'), FAKE_INSTALLED: 'python3-torch python3-torchvision python3-pil python3-sklearn python3-skimage python-matplotlib-data chromium python3-nbclient' }, 65534);
  assert.equal(tests.code, 0);
  assert.equal(tests.out, [
    'kestrel: dataset-fashion-mnist is missing, so the Fashion-MNIST accuracy and real-data tests skip',
    'kestrel: jupyter-notebook is missing, so the notebook server and its browser test skip',
    'kestrel: jupyter-nbconvert is missing, so the example notebooks are not executed',
    'kestrel: to run them (not root and no passwordless sudo): sudo apt-get install -y --no-install-recommends dataset-fashion-mnist jupyter-notebook jupyter-nbconvert', '',
  ].join('\n'));

  // an optional build package (gloo's headers) that cannot be installed: the build goes on, saying what is off
  const gloo = check('build', { ...env, KESTREL_APT_GET: join(dir, 'apt-get'), FAKE_INSTALLED: BUILD.filter((p) => p !== 'libgloo-dev').join(' ') }, 65534);
  assert.equal(gloo.code, 0, gloo.out);
  assert.equal(gloo.out, 'kestrel: libgloo-dev is missing, so data-parallel training across processes (c10d process groups over gloo) is off (install it, then npm rebuild)\n'
    + 'kestrel: to turn it on (not root and no passwordless sudo): sudo apt-get install -y --no-install-recommends libgloo-dev\n');
});
