/** `kestrel info`: what engine this is (libtorch version, threads, BLAS, devices). */
import { memory, runtimeInfo } from '../tensor/index.js';
import { type CommandSpec, commandHelp, parseCommand } from './args.js';
import { describeBundle } from './bundle-info.js';

/** The command's options. */
export const infoSpec: CommandSpec = {
  name: 'info',
  summary: 'show the engine (libtorch version, threads, BLAS, CUDA, allocator), or describe a saved model bundle',
  positionals: [{ name: 'dir', description: 'a model bundle directory to describe instead', optional: true }],
  options: { verbose: { type: 'boolean', description: "also print libtorch's build configuration" } },
};

/** Prints engine facts. */
export async function runInfo(argv: string[]): Promise<number> {
  const { positionals, options } = parseCommand(infoSpec, argv);
  if (options.help) { console.log(commandHelp(infoSpec)); return 0; }
  if (positionals[0] !== undefined) {
    for (const line of describeBundle(positionals[0])) console.log(line);
    return 0;
  }
  const info = runtimeInfo();
  const blas = /BLAS_INFO=([^,\s]+)/.exec(info.config)?.[1] ?? 'unknown';
  console.log(`libtorch ${info.torchVersion}`);
  console.log(`threads  ${info.threads}`);
  console.log(`blas     ${blas} (libblas.so.3 as linked at run time)`);
  console.log(`cuda     ${info.cudaAvailable ? `yes, ${info.cudaDevices} device(s)` : 'no'}`);
  console.log(`memory   caching allocator ${info.cachingAllocator ? 'on' : 'off'}, ${memory().liveTensors} live tensors`);
  if (options.verbose) console.log(`\n${info.config}\n${info.parallel}`);
  return 0;
}
