/**
 * The launcher behind `kestrel train --nproc N` (torchrun's job): hosts the rendezvous store, starts one worker
 * process per local rank with torchrun's environment variables, splits the CPU threads between them, and when a
 * worker dies, says which rank and makes sure the others stop too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { availableParallelism, constants } from 'node:os';
import { DEFAULT_TIMEOUT_MS, type Store, createTcpStore } from './store.js';

/** Options of launchWorkers. */
export interface LaunchOptions {
  /** Worker processes on this machine. */
  nproc: number;
  /** Machines in the job (default 1); each runs the launcher with its own nodeRank. */
  nnodes?: number;
  /** This machine's index, 0..nnodes-1 (default 0); machine 0 hosts the store. */
  nodeRank?: number;
  /** Address of machine 0 (default 127.0.0.1). */
  masterAddr?: string;
  /** Port of the store on machine 0 (default: a free port on one machine; required with several). */
  masterPort?: number;
  /** What each worker runs: arguments after `command`. */
  args: string[];
  /** The program (default: this Node.js). */
  command?: string;
  /** libtorch threads per worker (default: this machine's cores / nproc, at least 1). */
  threadsPerWorker?: number;
  /** Extra environment for the workers. */
  env?: NodeJS.ProcessEnv;
  /** Milliseconds the others get to stop by themselves after a worker fails, before they are terminated (default 60000). */
  graceMs?: number;
  /** Store timeout in milliseconds (default 30 minutes). */
  timeout?: number;
  /** Where the launcher's own messages go (default: stderr). */
  log?: (line: string) => void;
}

/** How a worker ended. */
export interface WorkerExit {
  rank: number;
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** How the job ended: exitCode is 0 when every worker succeeded, else the first failure's code. */
export interface LaunchResult {
  exitCode: number;
  exits: WorkerExit[];
  /** The first worker to fail, if any. */
  firstFailure: WorkerExit | null;
}

function exitCodeOf(exit: WorkerExit): number {
  if (exit.signal) return 128 + (constants.signals[exit.signal] ?? 1);
  return exit.code ?? 1;
}

function describeExit(exit: WorkerExit): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/** Starts the workers of this machine and resolves when all of them have ended. */
export async function launchWorkers(options: LaunchOptions): Promise<LaunchResult> {
  const nproc = options.nproc;
  const nnodes = options.nnodes ?? 1;
  const nodeRank = options.nodeRank ?? 0;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (!Number.isInteger(nproc) || nproc < 1) throw new Error(`launch: nproc must be a positive integer, got ${String(nproc)}`);
  if (!Number.isInteger(nnodes) || nnodes < 1) throw new Error(`launch: nnodes must be a positive integer, got ${String(nnodes)}`);
  if (!Number.isInteger(nodeRank) || nodeRank < 0 || nodeRank >= nnodes) throw new Error(`launch: nodeRank must be in [0, ${nnodes - 1}], got ${String(nodeRank)}`);
  if (nnodes > 1 && options.masterPort === undefined) throw new Error('launch: with several machines, masterPort must be given (the same on every machine)');
  const masterAddr = options.masterAddr ?? '127.0.0.1';
  const worldSize = nnodes * nproc;
  const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;

  // NOTE: the launcher hosts the store (torchrun's agent store), so it outlives any worker and the survivors can
  // still ask it which rank stopped beating. A port picked by the server itself cannot be taken by anyone else.
  let store: Store | null = null;
  let masterPort = options.masterPort;
  if (nodeRank === 0) {
    store = await createTcpStore({ host: masterAddr, port: masterPort ?? 0, isServer: true, timeout });
    masterPort = store.port;
  }
  const threads = options.threadsPerWorker ?? Math.max(1, Math.floor(availableParallelism() / nproc));
  const children: { rank: number; child: ChildProcess }[] = [];
  for (let local = 0; local < nproc; local++) {
    const rank = nodeRank * nproc + local;
    const env: NodeJS.ProcessEnv = {
      ...process.env, ...options.env,
      RANK: String(rank), LOCAL_RANK: String(local), WORLD_SIZE: String(worldSize), LOCAL_WORLD_SIZE: String(nproc),
      GROUP_RANK: String(nodeRank), MASTER_ADDR: masterAddr, MASTER_PORT: String(masterPort),
      TORCHELASTIC_USE_AGENT_STORE: 'True', TORCHELASTIC_RESTART_COUNT: '0',
      KESTREL_THREADS: String(threads), OMP_NUM_THREADS: String(threads),
    };
    children.push({ rank, child: spawn(options.command ?? process.execPath, options.args, { env, stdio: 'inherit' }) });
  }
  log(`kestrel: started ${nproc} worker${nproc === 1 ? '' : 's'} of ${worldSize} (${threads} thread${threads === 1 ? '' : 's'} each): ${children.map(({ rank, child }) => `rank ${rank} pid ${child.pid}`).join(', ')}`);

  const forward = (signal: NodeJS.Signals) => { for (const { child } of children) if (child.exitCode === null) child.kill(signal); };
  const onInt = () => forward('SIGINT');
  const onTerm = () => forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const exits: WorkerExit[] = [];
  let firstFailure: WorkerExit | null = null;
  let grace: NodeJS.Timeout | undefined;
  try {
    await Promise.all(children.map(({ rank, child }) => new Promise<void>((resolve) => {
      child.on('error', (error) => log(`kestrel: rank ${rank} could not start: ${error.message}`));
      child.on('close', (code, signal) => {
        const exit: WorkerExit = { rank, pid: child.pid ?? -1, code, signal };
        exits.push(exit);
        if ((code !== 0 || signal) && !firstFailure) {
          firstFailure = exit;
          const graceMs = options.graceMs ?? 60000;
          log(`kestrel: rank ${rank} (pid ${exit.pid}) ${describeExit(exit)}; the other workers get ${Math.round(graceMs / 1000)} s to stop`);
          grace = setTimeout(() => {
            log('kestrel: terminating the workers still running');
            forward('SIGTERM');
            setTimeout(() => forward('SIGKILL'), 5000).unref();
          }, graceMs);
        }
        resolve();
      });
    })));
  } finally {
    clearTimeout(grace);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    store?.close();
  }
  const failure = firstFailure as WorkerExit | null;
  return { exitCode: failure ? exitCodeOf(failure) : 0, exits, firstFailure: failure };
}
