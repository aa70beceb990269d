/**
 * One server for bench/serve.ts: Kestrel's InferenceServer over a bundle, run by libtorch (`kestrel`) or by
 * onnxruntime-node on the bundle's ONNX export (`ort`) behind the same HTTP, batching and decoding code.
 *   node dist/bench/serve-worker.js BUNDLE kestrel|ort MAX_BATCH MAX_DELAY_MS
 * Prints `URL http://...` when listening, `RSS <MiB>` on SIGUSR2, and exits on SIGTERM.
 */
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { type Tensor, tensor } from '../src/tensor/index.js';
import { exportBundleOnnx, loadModel } from '../src/io/index.js';
import { InferenceServer, type ServableModel, ServedModel } from '../src/serve/index.js';
import { processMemory } from './common.js';

/** onnxruntime-node running the bundle's ONNX export, with the bundle's classes and preprocessing. */
async function ortModel(dir: string): Promise<ServableModel> {
  const loaded = loadModel(dir);
  const { classes, preprocessing } = loaded;
  loaded.dispose();
  const session = await InferenceSession.create(exportBundleOnnx(dir).bytes, { intraOpNumThreads: Number(process.env.KESTREL_THREADS ?? 2) });
  return {
    classes, preprocessing,
    async forwardProbabilities(x: Tensor): Promise<Tensor> {
      const { logits } = await session.run({ input: new OrtTensor('float32', x.toArray() as Float32Array, x.shape) });
      const k = classes.length;
      const values = logits.data as Float32Array;
      const probs = new Float32Array(values.length);
      for (let r = 0; r < values.length / k; r++) {
        const row = values.subarray(r * k, (r + 1) * k);
        const max = Math.max(...row);
        let sum = 0;
        for (let c = 0; c < k; c++) sum += (probs[r * k + c] = Math.exp(row[c] - max));
        for (let c = 0; c < k; c++) probs[r * k + c] /= sum;
      }
      return tensor(probs, [values.length / k, k]);
    },
    dispose: () => void session.release(),
  };
}

const [dir, backend, maxBatch, maxDelay] = process.argv.slice(2);
const model = backend === 'ort' ? await ortModel(dir) : loadModel(dir);
const served = new ServedModel([model], { maxBatchSize: Number(maxBatch), maxDelayMs: Number(maxDelay), maxQueue: 4096 });
const server = new InferenceServer(served, { port: 0, log: () => undefined });
const { url } = await server.listen();
console.log(`URL ${url}`);
process.on('SIGUSR2', () => console.log(`RSS ${processMemory().rssMb.toFixed(1)}`));
process.on('SIGTERM', () => void server.close().then(() => { served.dispose(); process.exit(0); }));
