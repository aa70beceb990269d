/**
 * The packed package as a user installs it: `npm pack`, `npm install <tarball>` into a new project whose npm skips
 * Kestrel's install script, a TypeScript program using every subpath export, compiled and run. The addons are then
 * built on first use; to keep this test to about a minute that build copies this checkout's build/Release
 * (KESTREL_PREBUILT_ADDONS); KESTREL_TEST_PACKAGE_BUILD=1 compiles them for real instead (1-3 minutes more).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const FULL_BUILD = process.env.KESTREL_TEST_PACKAGE_BUILD === '1';

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 900_000, env: { ...process.env, ...env } });
  return { code: result.status ?? -1, stdout: result.stdout ?? '', stderr: `${result.stderr ?? ''}${result.error ? String(result.error) : ''}` };
}

const PROGRAM = `
import { manualSeed, memory, tensor, tidy } from 'kestrel/tensor';
import { Flatten, Linear, ReLU, Sequential, crossEntropy } from 'kestrel/nn';
import { Adam } from 'kestrel/optim';
import { DataLoader, loadSample } from 'kestrel/data';
import { Learner, accuracy } from 'kestrel/learn';
import { mnistCnn } from 'kestrel/vision';
import { MODEL_MANIFEST_FILE } from 'kestrel/io';
import { lrFindChart } from 'kestrel/interpret';
import * as kestrel from 'kestrel';

manualSeed(1);
const sum: number = tidy(() => tensor([1, 2, 3, 4]).sum().item());
const train = loadSample({ split: 'train' });
const test = loadSample({ split: 'test' });
const model = new Sequential(new Flatten(), new Linear(784, 64), new ReLU(), new Linear(64, 10));
const learn = new Learner(model, {
  train: new DataLoader(train, { batchSize: 64, shuffle: true, seed: 1 }),
  valid: new DataLoader(test, { batchSize: 256 }),
}, { optimizer: (params, lr) => new Adam(params, { lr }), metrics: [accuracy()], progress: false });
await learn.fit(2, 3e-3);
const loss = tidy(() => crossEntropy(tensor([[2, 0]]), tensor([0], { dtype: 'int64' })).item());
const cnn = mnistCnn();
const cnnParameters = cnn.numParameters();
const samples = train.length;
for (const owner of [cnn, model, learn.optimizer!, train, test]) owner.dispose();
console.log(JSON.stringify({
  sum, loss, samples, classes: train.classes.length, accuracy: learn.history[1].metrics.accuracy, cnnParameters,
  manifest: MODEL_MANIFEST_FILE, chart: typeof lrFindChart, sameClasses: kestrel.Learner === Learner && kestrel.nn.Linear === Linear,
  liveTensors: memory().liveTensors,
}));
`;

test('npm pack, install into a new project, compile a TypeScript program against every subpath export, build the addon on first use, run', { timeout: 1_800_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-package-'));
  try {
    const packed = run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], REPO);
    assert.equal(packed.code, 0, packed.stderr);
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // NOTE: --ignore-scripts skips Kestrel's install script as a denial in allowScripts, strict-allow-scripts or an npm
    // that blocks unapproved scripts does (a denial by name does not match a tarball's identity, so it cannot be used here).
    const installed = run('npm', ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', join(dir, tarball)], app);
    assert.equal(installed.code, 0, installed.stderr);
    const pkg = join(app, 'node_modules', 'kestrel');
    assert.ok(!existsSync(join(pkg, 'build', 'Release', 'kestrel.node')), 'npm skipped the install script, so nothing is built yet');

    writeFileSync(join(app, 'main.ts'), PROGRAM);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, outDir: 'out', types: ['node'], typeRoots: [join(REPO, 'node_modules', '@types')] },
      files: ['main.ts'],
    }));
    const compiled = run(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], app);
    assert.equal(compiled.code, 0, `tsc: ${compiled.stdout}${compiled.stderr}`);

    const refused = run(process.execPath, [join(app, 'out', 'main.js')], app, { KESTREL_BUILD_ON_USE: '0' });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /the native engine is not built .*npm skipped Kestrel's install script\. To build it, approve Kestrel's install script with `npm install-scripts approve kestrel && npm rebuild kestrel`/);

    const env: Record<string, string> = FULL_BUILD ? {} : { KESTREL_PREBUILT_ADDONS: join(REPO, 'build', 'Release') };
    const first = run(process.execPath, [join(app, 'out', 'main.js')], app, env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /kestrel: the native addons are not built yet \(npm skipped Kestrel's install script/);
    assert.match(first.stderr, /kestrel: native addons built\.\n/);
    const result = JSON.parse(first.stdout) as Record<string, number | string | boolean>;
    assert.deepEqual({ ...result, accuracy: undefined, loss: Number((result.loss as number).toFixed(4)) }, {
      sum: 10, loss: 0.1269, samples: 3000, classes: 10, accuracy: undefined, cnnParameters: 235_262, manifest: 'model.json', chart: 'function', sameClasses: true, liveTensors: 0,
    });
    assert.ok((result.accuracy as number) > 0.7, `accuracy ${result.accuracy} after 2 epochs on the sample`);

    const again = run(process.execPath, [join(app, 'out', 'main.js')], app);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stderr, '', 'built once: the second run says nothing');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
