/** `kestrel info`: what engine this is (libtorch version, threads, BLAS, devices). */
import { bf16Support, memory, runtimeInfo } from '../tensor/index.js';
import { distributedSupport } from '../distributed/index.js';
import { type CommandSpec, commandHelp, parseCommand } from './args.js';
import { describeBundle } from './bundle-info.js';

/** The command's options. */
export const infoSpec: CommandSpec = {
  name: 'info',
  summary: 'show the engine (libtorch version, threads, BLAS, CUDA, bfloat16 support, distributed backends, allocator), or describe a saved model bundle',
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
  const bf16 = bf16Support();
  console.log(`bf16     ${bf16.available ? 'yes' : 'no'}: ${bf16.reason}${bf16.available ? ' (--precision auto trains in bf16)' : ''}`);
  console.log(`onednn   ${info.mkldnn ? 'yes' : 'no'}`);
  const dist = distributedSupport();
  console.log(`dist     ${dist.available ? ['gloo', ...(dist.nccl ? ['nccl'] : [])].join(', ') : `no: ${dist.reason}`}`);
  console.log(`memory   caching allocator ${info.cachingAllocator ? 'on' : 'off'}, ${memory().liveTensors} live tensors`);
  if (options.verbose) console.log(`\n${info.config}\n${info.parallel}`);
  return 0;
}
