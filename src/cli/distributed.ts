/** The CLI's side of scaling out: --device, the launcher flags of `train` (--nproc, --nnodes, ...), and joining as a worker. */
import { checkDevice } from '../tensor/index.js';
import {
  type Backend, type DistributedEnv, type ProcessGroup, distributedEnv, distributedSupport, initProcessGroup, launchWorkers,
} from '../distributed/index.js';
import { type OptionSpec, type ParsedOptions, UsageError } from './args.js';

/** The launcher's options (train and launch). */
export const launcherOptionSpecs: Record<string, OptionSpec> = {
  nproc: { type: 'integer', description: 'worker processes on this machine, training data-parallel (threads are split between them)', default: 1, min: 1 },
  nnodes: { type: 'integer', description: 'machines in the job (run the same command on each, with its --node-rank)', default: 1, min: 1 },
  'node-rank': { type: 'integer', description: "this machine's index, 0 to nnodes-1 (machine 0 hosts the rendezvous)", default: 0, min: 0 },
  'master-addr': { type: 'string', description: 'address of machine 0', default: '127.0.0.1' },
  'master-port': { type: 'integer', description: 'port of the rendezvous on machine 0 (default: a free one on a single machine)', min: 1 },
  'dist-timeout': { type: 'integer', description: 'seconds a rank waits for the others before giving up', default: 1800, min: 1 },
};

/** Options train adds for devices and data-parallel runs. */
export const distributedOptionSpecs: Record<string, OptionSpec> = {
  device: { type: 'string', description: 'cpu, cuda or cuda:N (cuda needs a CUDA build of libtorch)', default: 'cpu' },
  ...launcherOptionSpecs,
  backend: { type: 'string', description: 'communication backend (default nccl on CUDA when built with it, else gloo)', choices: ['gloo', 'nccl'] },
};

const LAUNCHER_FLAGS = ['nproc', 'nnodes', 'node-rank', 'master-addr', 'master-port', 'threads'];

/** argv for the workers: the same command without the launcher's own flags (the launcher splits --threads). */
export function workerArgv(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([^=]+)(=.*)?$/.exec(argv[i]);
    if (match && LAUNCHER_FLAGS.includes(match[1])) {
      if (match[2] === undefined) i++; // NOTE: the value is the next argument
      continue;
    }
    out.push(argv[i]);
  }
  return out;
}

/** Whether these options ask this process to launch workers (and it is not a worker itself). */
export function wantsLauncher(options: ParsedOptions): boolean {
  return ((options.nproc as number) > 1 || (options.nnodes as number) > 1) && distributedEnv() === null;
}

/** The device this process trains on: --device, with `cuda` meaning this worker's GPU (cuda:LOCAL_RANK) in a job. */
export function chooseDevice(options: ParsedOptions, env: DistributedEnv | null): string {
  const asked = String(options.device);
  try {
    checkDevice(asked, '--device');
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (env && env.localWorldSize > 1 && asked.startsWith('cuda')) {
    if (asked !== 'cuda') throw new UsageError(`--device ${asked}: with several workers per machine use --device cuda (worker i takes cuda:i)`);
    return checkDevice(`cuda:${env.localRank}`, `--device cuda (worker ${env.localRank})`);
  }
  return asked;
}

/** Checks the launcher flags and runs `node ...args` as every worker; resolves to the job's exit code. */
export async function runLauncher(args: string[], options: ParsedOptions): Promise<number> {
  const support = distributedSupport();
  if (!support.available) throw new Error(support.reason);
  if (options.device !== undefined) chooseDevice(options, null);
  const nnodes = options.nnodes as number;
  const nodeRank = options['node-rank'] as number;
  if (nodeRank >= nnodes) throw new UsageError(`--node-rank ${nodeRank} must be below --nnodes ${nnodes}`);
  if (nnodes > 1 && options['master-port'] === undefined) throw new UsageError('--nnodes > 1 needs --master-port (the same on every machine) and --master-addr (machine 0)');
  const total = options.threads as number | undefined;
  const nproc = options.nproc as number;
  const result = await launchWorkers({
    nproc, nnodes, nodeRank,
    masterAddr: String(options['master-addr']),
    masterPort: options['master-port'] as number | undefined,
    args,
    threadsPerWorker: total === undefined ? undefined : Math.max(1, Math.floor(total / nproc)),
    timeout: (options['dist-timeout'] as number) * 1000,
  });
  if (result.firstFailure) {
    const f = result.firstFailure;
    console.error(`kestrel: error: the job failed: rank ${f.rank} ${f.signal ? `was killed by ${f.signal}` : `exited with code ${f.code}`}`);
  }
  return result.exitCode;
}

/** Joins the job described by the environment (a worker of --nproc or torchrun); null when training alone. */
export async function joinFromEnv(options: ParsedOptions, device: string): Promise<ProcessGroup | null> {
  const env = distributedEnv();
  if (!env || env.worldSize === 1) return null;
  const support = distributedSupport();
  const backend = (options.backend as Backend | undefined) ?? (device.startsWith('cuda') && support.nccl ? 'nccl' : 'gloo');
  return initProcessGroup({ backend, timeout: (options['dist-timeout'] as number) * 1000, device: device.startsWith('cuda') ? device : undefined });
}

/** The per-process batch size: --bs is the global batch, split evenly between the processes. */
export function perProcessBatch(batchSize: number, worldSize: number): number {
  if (batchSize % worldSize !== 0) throw new UsageError(`--bs ${batchSize} is the batch of all ${worldSize} processes together and must divide evenly between them`);
  return batchSize / worldSize;
}
