#!/usr/bin/env node
// `npm run notebook [-- jupyter options]`: Jupyter Notebook on 127.0.0.1 with the Kestrel TypeScript kernel
// (tslab), opened on examples/. Installs what is missing first (see scripts/jupyter/setup.mjs).
import { spawn } from 'node:child_process';
import { EXAMPLES, prepare } from './jupyter/setup.mjs';

let env;
try {
  env = prepare();
} catch (error) {
  process.stderr.write(`notebook: ${error.message}\n`);
  process.exit(1);
}
// NOTE: bound to loopback like `kestrel serve` (pass --ip to expose it), on examples/ (or --notebook-dir); Jupyter
// takes each option once, so a default is added only when the user did not give it. Jupyter refuses to start as
// root without --allow-root; containers and CI machines often are root, and the server listens on loopback only
// (with a token), so it is allowed there.
const user = process.argv.slice(2);
const given = (...names) => user.some((a) => names.some((n) => a === n || a.startsWith(`${n}=`)));
const args = ['notebook',
  ...(given('--ip', '--NotebookApp.ip') ? [] : ['--ip=127.0.0.1']),
  ...(given('--notebook-dir', '--NotebookApp.notebook_dir') ? [] : [`--notebook-dir=${EXAMPLES}`]),
  ...(process.getuid?.() === 0 && !given('--allow-root') ? ['--allow-root'] : []),
  ...user];
process.stderr.write(`notebook: $ jupyter ${args.join(' ')}\n`);
const child = spawn('jupyter', args, { stdio: 'inherit', env });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
