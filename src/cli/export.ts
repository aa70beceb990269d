/** `kestrel export`: a bundle as an ONNX file, and as a static web page that classifies dropped images offline. */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { packageRoot } from '../tensor/addon-path.js';
import { writeAll } from '../tensor/atomic.js';
import { writeFileAtomic } from '../tensor/index.js';
import { exportBundleOnnx } from '../io/index.js';
import { type CommandSpec, UsageError, commandHelp, parseCommand } from './args.js';

/** The command's options. */
export const exportSpec: CommandSpec = {
  name: 'export',
  summary: 'export a saved model as ONNX (opset 17, batch norm folded, dynamic batch) and/or a static web page',
  positionals: [{ name: 'dir', description: 'model bundle directory (model.json + model.safetensors)' }],
  options: {
    onnx: { type: 'string', description: 'write the ONNX model to this file' },
    web: { type: 'string', description: 'write a web page (HTML + model + onnxruntime-web, no CDN) into this folder' },
  },
};

// NOTE: the files onnxruntime-web's single-threaded WASM build loads: the script, its module loader and the binary.
const ORT_FILES = ['ort.wasm.min.js', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];

/** onnxruntime-web's dist folder (an optional peer dependency of Kestrel). */
function ortWebDist(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  } catch {
    throw new Error("--web needs the npm package onnxruntime-web (its WASM runtime is copied into the page): run `npm install onnxruntime-web`");
  }
}

/** Writes the page: index.html + page.js from Kestrel, the model, its description, and onnxruntime-web's files. */
export function writeWebPage(dir: string, onnx: Uint8Array, meta: Record<string, unknown>): void {
  const dist = ortWebDist();
  for (const f of ORT_FILES) if (!existsSync(join(dist, f))) throw new Error(`onnxruntime-web at ${dist} lacks ${f}; reinstall it`);
  mkdirSync(dir, { recursive: true });
  const assets = join(packageRoot(), 'assets', 'web-predict');
  for (const f of ['index.html', 'page.js']) copyFileSync(join(assets, f), join(dir, f));
  for (const f of ORT_FILES) copyFileSync(join(dist, f), join(dir, f));
  writeFileAtomic(join(dir, 'model.onnx'), (fd) => writeAll(fd, onnx));
  writeFileSync(join(dir, 'model.json'), JSON.stringify(meta, null, 1) + '\n');
  writeFileSync(join(dir, 'README.txt'), [
    'A Kestrel classifier that runs in the browser (onnxruntime-web, WebAssembly); images never leave the page.',
    'Browsers load WebAssembly only over http(s), so serve this folder, e.g.:',
    '  python3 -m http.server 8000 --bind 127.0.0.1 --directory .',
    'then open http://127.0.0.1:8000/ and drop an image.', '',
  ].join('\n'));
}

/** Exports; resolves to the exit code. */
export async function runExport(argv: string[]): Promise<number> {
  const { positionals, options } = parseCommand(exportSpec, argv);
  if (options.help) { console.log(commandHelp(exportSpec)); return 0; }
  if (options.onnx === undefined && options.web === undefined) throw new UsageError('kestrel export needs --onnx FILE and/or --web DIR');
  const dir = resolve(positionals[0]);
  const exported = exportBundleOnnx(dir);
  const m = exported.manifest;
  console.log(`kestrel: exported ${m.architecture.name} as ONNX opset 17: ${exported.nodes} nodes, ${exported.folded} batch norms folded, ${(exported.bytes.length / 2 ** 20).toFixed(1)} MiB`);
  if (options.onnx !== undefined) {
    const file = resolve(String(options.onnx));
    mkdirSync(dirname(file), { recursive: true });
    writeFileAtomic(file, (fd) => writeAll(fd, exported.bytes));
    console.log(`kestrel: wrote ${file}`);
  }
  if (options.web !== undefined) {
    const web = resolve(String(options.web));
    writeWebPage(web, exported.bytes, {
      name: m.architecture.name, classes: m.classes, inputShape: m.inputShape, normalize: m.normalize, preprocess: m.preprocess ?? { resize: 'crop', cropFraction: 1 },
    });
    console.log(`kestrel: wrote a web page into ${web}; serve it, e.g. python3 -m http.server 8000 --bind 127.0.0.1 --directory ${web}`);
  }
  return 0;
}
