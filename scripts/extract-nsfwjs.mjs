#!/usr/bin/env node
// Writes one of the TF.js models that npm `nsfwjs` ships inside JS files as a plain TF.js
// layers-model fixture: OUT/model.json + OUT/group1-shardNofM.bin (the files `tf.loadLayersModel`
// and `kestrel import` read).
// Run: node scripts/extract-nsfwjs.mjs [--model mobilenet_v2] [--out DIR]
// (default DIR: test/fixtures/nsfwjs/<model>, which is git-ignored: tests regenerate it).
//
// NOTE: the package's files are UMD bundles (model.min.js exports the model.json object,
// group1-shardNofM.min.js exports a base64 string). They are parsed with acorn and only literal
// syntax (objects, arrays, strings, numbers, true/false/null, unary minus) is turned into
// values: nothing from the package is ever executed, not even in a vm sandbox.
// NOTE: the fixture is regenerated from node_modules rather than committed: nsfwjs is a pinned
// devDependency, so every fresh clone has the same bytes after `npm install`, the repository
// stays free of 2.6 MB of derived binary, and every test run exercises this script.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'acorn';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The value of a literal-only expression; anything else (calls, identifiers...) is refused. */
function literalValue(node, file) {
  switch (node.type) {
    case 'Literal':
      if (node.regex || typeof node.value === 'bigint') break;
      return node.value;
    case 'UnaryExpression':
      if ((node.operator === '-' || node.operator === '+') && node.argument.type === 'Literal' && typeof node.argument.value === 'number') {
        return node.operator === '-' ? -node.argument.value : node.argument.value;
      }
      // NOTE: minifiers write true/false as !0/!1.
      if (node.operator === '!' && node.argument.type === 'Literal' && typeof node.argument.value === 'number') return !node.argument.value;
      break;
    case 'ArrayExpression':
      return node.elements.map((e) => (e === null ? null : literalValue(e, file)));
    case 'ObjectExpression': {
      const out = {};
      for (const p of node.properties) {
        if (p.type !== 'Property' || p.kind !== 'init' || p.computed || p.method) break;
        const key = p.key.type === 'Identifier' ? p.key.name : String(p.key.value);
        Object.defineProperty(out, key, { value: literalValue(p.value, file), enumerable: true, writable: true, configurable: true });
      }
      if (Object.keys(out).length === node.properties.length) return out;
      break;
    }
    case 'TemplateLiteral':
      if (node.expressions.length === 0) return node.quasis[0].value.cooked;
      break;
  }
  throw new Error(`${file}: unexpected ${node.type} at offset ${node.start} (only literal values are read)`);
}

/** Finds the single `<x>.exports = <literal>` assignment in a UMD bundle and returns its value. */
export function readUmdExport(file) {
  const ast = parse(readFileSync(file, 'utf8'), { ecmaVersion: 'latest', sourceType: 'script' });
  const found = [];
  const walk = (node) => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) { node.forEach(walk); return; }
    if (node.type === 'AssignmentExpression' && node.operator === '=' && node.left.type === 'MemberExpression'
      && !node.left.computed && node.left.property.name === 'exports' && ['ObjectExpression', 'Literal'].includes(node.right.type)) {
      found.push(node.right);
      return;
    }
    for (const [key, value] of Object.entries(node)) if (key !== 'type' && typeof value === 'object') walk(value);
  };
  walk(ast);
  if (found.length !== 1) throw new Error(`${file}: expected one 'module.exports = <literal>', found ${found.length}`);
  return literalValue(found[0], file);
}

/** Extracts nsfwjs model `model` into `out`; returns the file names written. */
export function extractNsfwjs(model = 'mobilenet_v2', out = join(root, 'test', 'fixtures', 'nsfwjs', model)) {
  // NOTE: nsfwjs's "exports" hides package.json and the model files, so look along the resolver's paths.
  const paths = createRequire(join(root, 'package.json')).resolve.paths('nsfwjs') ?? [];
  const pkgDir = paths.map((p) => join(p, 'nsfwjs')).find((p) => existsSync(join(p, 'package.json')));
  if (pkgDir === undefined) throw new Error("npm package 'nsfwjs' is not installed (run npm install)");
  const src = join(pkgDir, 'dist', 'models', model);
  const modelJson = readUmdExport(join(src, 'model.min.js'));
  if (typeof modelJson !== 'object' || modelJson === null || !modelJson.modelTopology || !Array.isArray(modelJson.weightsManifest)) {
    throw new Error(`${src}/model.min.js: does not export a TF.js model.json (modelTopology + weightsManifest)`);
  }
  const shards = modelJson.weightsManifest.flatMap((group) => group.paths);
  const available = new Set(readdirSync(src));
  // NOTE: write into a fresh sibling directory and rename it into place, so a concurrent test
  // never sees a half-written fixture.
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const path of shards) {
    const js = `${path}.min.js`;
    if (!available.has(js)) throw new Error(`${src}: shard ${js} named in model.min.js is missing`);
    const base64 = readUmdExport(join(src, js));
    if (typeof base64 !== 'string') throw new Error(`${src}/${js}: does not export a base64 string`);
    writeFileSync(join(tmp, path), Buffer.from(base64, 'base64'));
  }
  writeFileSync(join(tmp, 'model.json'), JSON.stringify(modelJson));
  mkdirSync(dirname(out), { recursive: true });
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
  return { dir: out, files: ['model.json', ...shards] };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const flag = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
  try {
    const model = flag('--model') ?? 'mobilenet_v2';
    const { dir, files } = extractNsfwjs(model, flag('--out') ? resolve(flag('--out')) : undefined);
    console.log(`nsfwjs ${model} -> ${dir}: ${files.join(', ')}`);
  } catch (error) {
    console.error(`extract-nsfwjs: ${error.message}`);
    process.exit(1);
  }
}
