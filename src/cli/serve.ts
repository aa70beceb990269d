/** `kestrel serve`: an HTTP inference server for one or more model bundles (several: an ensemble). */
import { resolve } from 'node:path';
import { type LoadedModel, loadModel } from '../io/index.js';
import { InferenceServer, ServedModel } from '../serve/index.js';
import { type CommandSpec, commandHelp, parseCommand } from './args.js';

/** The command's options. */
export const serveSpec: CommandSpec = {
  name: 'serve',
  summary: 'serve predictions over HTTP: POST /predict (image bytes or multipart), GET /healthz, GET /metrics',
  positionals: [{ name: 'dir', description: 'model bundle directory; several make an ensemble averaging probabilities', variadic: true }],
  options: {
    port: { type: 'integer', description: 'port (0 picks a free one)', default: 8080, min: 0 },
    host: { type: 'string', description: 'address to bind (0.0.0.0 exposes the server to the network)', default: '127.0.0.1' },
    'max-batch': { type: 'integer', description: 'most images in one forward pass', default: 16, min: 1 },
    'max-delay': { type: 'integer', description: 'ms a request waits for others to fill a batch (0: no waiting)', default: 5, min: 0 },
    'max-queue': { type: 'integer', description: 'most images waiting; more get 503', default: 256, min: 1 },
    'max-images': { type: 'integer', description: 'most images in one request', default: 64, min: 1 },
    'max-body-mb': { type: 'number', description: 'largest request body in MB', default: 20, min: 0.001 },
    'max-pixels': { type: 'integer', description: 'largest width*height per image (decompression-bomb guard)', default: 40_000_000, min: 1 },
    timeout: { type: 'number', description: 'seconds a request may take to arrive and be answered (408 after)', default: 30, min: 0.1 },
    'top-k': { type: 'integer', description: 'classes returned per image (?top_k= overrides)', default: 5, min: 1 },
  },
};

/** Serves until SIGTERM or SIGINT, then finishes the requests in flight; resolves to the exit code. */
export async function runServe(argv: string[]): Promise<number> {
  const { positionals, options } = parseCommand(serveSpec, argv);
  if (options.help) { console.log(commandHelp(serveSpec)); return 0; }
  const models: LoadedModel[] = [];
  try {
    for (const dir of positionals) models.push(loadModel(resolve(dir)));
  } catch (error) {
    for (const m of models) m.dispose();
    throw error;
  }
  const served = new ServedModel(models, {
    maxBatchSize: options['max-batch'] as number, maxDelayMs: options['max-delay'] as number, maxQueue: options['max-queue'] as number, maxPixels: options['max-pixels'] as number,
  });
  const server = new InferenceServer(served, {
    host: String(options.host), port: options.port as number, maxImages: options['max-images'] as number, topK: options['top-k'] as number,
    maxBodyBytes: Math.round((options['max-body-mb'] as number) * 2 ** 20), requestTimeoutMs: Math.round((options.timeout as number) * 1000),
  });
  try {
    const { url } = await server.listen();
    const what = models.length === 1 ? positionals[0] : `an ensemble of ${models.length} models`;
    console.log(`kestrel: serving ${what} (${served.classes.length} classes) at ${url}  POST /predict, GET /healthz, GET /metrics`);
    await new Promise<void>((done) => {
      const stop = (signal: string) => {
        console.log(`kestrel: ${signal}: finishing requests in flight, then exiting`);
        process.off('SIGTERM', onTerm).off('SIGINT', onInt);
        void server.close().then(done);
      };
      const onTerm = () => stop('SIGTERM');
      const onInt = () => stop('SIGINT');
      process.on('SIGTERM', onTerm).on('SIGINT', onInt);
    });
    console.log('kestrel: server stopped');
    return 0;
  } finally {
    served.dispose();
  }
}
