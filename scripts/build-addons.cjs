#!/usr/bin/env node
// Builds the native addons with node-gyp (npm's install script, and the first-use build of src/tensor/addon-build.ts).
// Outside npm, or when npm has no nodedir set, the running Node's own headers (include/node beside bin/, as its
// installers lay them out) are passed, so node-gyp needs no download from nodejs.org.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const prefix = path.dirname(path.dirname(process.execPath));
const args = ['rebuild', '--jobs=max'];
if (!process.env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node.h'))) args.push(`--nodedir=${prefix}`);
const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
process.stdout.write(`$ node-gyp ${args.join(' ')}\n`);
const result = spawnSync(process.execPath, [nodeGyp, ...args], { cwd: root, stdio: 'inherit' });
process.exitCode = result.status ?? 1;
