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
// NOTE: bound to loopback like `kestrel serve`; pass --ip to expose it. Later options override earlier ones.
const args = ['notebook', '--ip=127.0.0.1', `--notebook-dir=${EXAMPLES}`, ...process.argv.slice(2)];
process.stderr.write(`notebook: $ jupyter ${args.join(' ')}\n`);
const child = spawn('jupyter', args, { stdio: 'inherit', env });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
