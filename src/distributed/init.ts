/**
 * Joining a job: initProcessGroup (torch.distributed.init_process_group's env:// rendezvous, step for step, so Kestrel
 * and Python ranks can share one group), the default group and the module-level collectives that use it.
 */
import type { Tensor } from '../tensor/index.js';
import { cudaAvailable } from '../tensor/index.js';
import { distributedSupport, dist } from './native.js';
import type { StoreHost } from './health.js';
import { type Backend, ProcessGroup, type ReduceOp } from './process-group.js';
import { DEFAULT_TIMEOUT_MS, type Store, createTcpStore } from './store.js';
import { distributedEnv } from './env.js';

/** Options of initProcessGroup; unset ones come from torchrun's environment variables. */
export interface InitProcessGroupOptions {
  /** 'gloo' (default) or 'nccl' (CUDA tensors; needs a CUDA libtorch with NCCL). */
  backend?: Backend;
  /** This process's rank (default $RANK). */
  rank?: number;
  /** Number of processes (default $WORLD_SIZE). */
  worldSize?: number;
  /** Host of the rendezvous store, rank 0's machine (default $MASTER_ADDR, else 127.0.0.1). */
  masterAddr?: string;
  /** Port of the rendezvous store (default $MASTER_PORT); rank 0 listens on it. */
  masterPort?: number;
  /** Milliseconds a rendezvous or collective may wait for the other ranks (default 30 minutes, like torch). */
  timeout?: number;
  /** An already created store to meet through, instead of masterAddr/masterPort. */
  store?: Store;
  /** The CUDA device of this rank for NCCL (default cuda:$LOCAL_RANK). */
  device?: string;
}

let defaultGroup: ProcessGroup | null = null;

// NOTE: torch's names: init_process_group wraps the store in PrefixStore('default_pg'), names the default group '0',
// and meets at the counter 'store_based_barrier_key:1' before setting sequence numbers. A Python rank waits for each.
const DEFAULT_PG_PREFIX = 'default_pg';
const BARRIER_KEY = 'store_based_barrier_key:1';

function loopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

function positiveInteger(value: number | undefined, name: string, source: string): number {
  if (value === undefined || !Number.isInteger(value) || value < 1) throw new Error(`distributed: ${name} must be a positive integer (set it or ${source}), got ${String(value)}`);
  return value;
}

async function meet(store: Store, rank: number, worldSize: number, timeoutMs: number): Promise<void> {
  store.add(BARRIER_KEY, 1);
  const deadline = Date.now() + timeoutMs;
  for (let arrived = store.add(BARRIER_KEY, 0); arrived < worldSize; arrived = store.add(BARRIER_KEY, 0)) {
    if (Date.now() > deadline) throw new Error(`distributed: rank ${rank}: only ${arrived} of ${worldSize} ranks reached the start barrier within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Joins the job's default process group (torch.distributed.init_process_group with env://): rank 0 hosts the
 * rendezvous TCPStore on masterPort (unless a launcher hosts it: TORCHELASTIC_USE_AGENT_STORE=True), every rank
 * connects, builds the gloo (or NCCL) group and waits for the others. Resolves once all `worldSize` ranks have joined;
 * the event loop keeps running meanwhile. Rejects after `timeout` if a rank never comes.
 */
export async function initProcessGroup(options: InitProcessGroupOptions = {}): Promise<ProcessGroup> {
  const support = distributedSupport();
  if (!support.available) throw new Error(`distributed: ${support.reason}`);
  if (defaultGroup && !defaultGroup.isDestroyed) throw new Error('distributed: initProcessGroup was already called in this process (call destroyProcessGroup() first)');
  const env = distributedEnv();
  const rank = options.rank ?? env?.rank;
  const worldSize = positiveInteger(options.worldSize ?? env?.worldSize, 'worldSize', '$WORLD_SIZE');
  if (rank === undefined || !Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new Error(`distributed: rank must be an integer in [0, ${worldSize - 1}] (set it or $RANK), got ${String(rank)}`);
  const backend = options.backend ?? 'gloo';
  if (backend !== 'gloo' && backend !== 'nccl') throw new Error(`distributed: unknown backend '${String(backend)}' (gloo or nccl)`);
  if (backend === 'nccl' && !support.nccl) {
    throw new Error(`distributed: backend 'nccl' needs a CUDA build of libtorch with NCCL at build time${cudaAvailable() ? ' (this addon was built without nccl.h)' : ' (this one has no CUDA)'}; use 'gloo'`);
  }
  const timeoutMs = positiveInteger(options.timeout ?? DEFAULT_TIMEOUT_MS, 'timeout', 'leave it out for 30 minutes');
  const masterAddr = options.masterAddr ?? env?.masterAddr ?? '127.0.0.1';
  const masterPort = options.masterPort ?? env?.masterPort;
  const agentStore = options.store === undefined && Boolean(env?.agentStore);

  let root: Store;
  let storeHost: StoreHost;
  const owned: Store[] = [];
  if (options.store) {
    root = options.store;
    storeHost = 'another process';
  } else {
    if (masterPort === undefined && !(rank === 0 && worldSize === 1)) throw new Error('distributed: masterPort is needed (set it or $MASTER_PORT) so the ranks can meet');
    const isServer = !agentStore && rank === 0;
    const store = await createTcpStore({ host: masterAddr, port: masterPort ?? 0, isServer, worldSize, timeout: timeoutMs });
    // NOTE: a torchrun-style agent hosts the store; its workers' keys live under the attempt's prefix.
    root = agentStore ? store.withPrefix(`/worker/attempt_${env?.restartCount ?? 0}`) : store;
    owned.push(store);
    if (root !== store) owned.push(root);
    storeHost = agentStore ? 'the launcher' : 'rank 0';
  }
  const pgStore = root.withPrefix(DEFAULT_PG_PREFIX);
  const groupStore = pgStore.withPrefix('0');
  owned.push(pgStore, groupStore);
  const device = backend === 'nccl' ? options.device ?? `cuda:${env?.localRank ?? 0}` : 'cpu';
  let id: number;
  try {
    // NOTE: on one machine gloo talks over loopback; across machines it uses $GLOO_SOCKET_IFNAME or the host name's address.
    const glooInterface = process.env.GLOO_SOCKET_IFNAME ?? '';
    id = await dist().createGroup(groupStore.id, rank, worldSize, backend, timeoutMs, loopback(masterAddr) && !glooInterface ? '127.0.0.1' : '', glooInterface);
    await meet(pgStore, rank, worldSize, timeoutMs);
    await dist().setSequenceNumber(id);
  } catch (error) {
    for (const store of owned) store.close();
    const message = (error as Error).message;
    const why = /[Tt]imed? ?out/.test(message) ? `not every rank arrived within ${timeoutMs / 1000} s (${message})` : message;
    throw new Error(`distributed: rank ${rank} could not join a group of ${worldSize} through ${root}: ${why}`, { cause: error });
  }
  defaultGroup = new ProcessGroup({ id, rank, worldSize, backend, device, timeoutMs, store: pgStore, storeHost, ownedStores: owned });
  return defaultGroup;
}

/** Whether this process has joined a process group. */
export function isInitialized(): boolean {
  return defaultGroup !== null && !defaultGroup.isDestroyed;
}

/** The default process group, or a clear error when initProcessGroup has not run. */
export function getDefaultGroup(): ProcessGroup {
  if (!defaultGroup || defaultGroup.isDestroyed) throw new Error('distributed: no process group: call await initProcessGroup() first (kestrel train --nproc N and torchrun set its environment)');
  return defaultGroup;
}

/** This process's rank (0 when not in a group). */
export function getRank(): number {
  return isInitialized() ? defaultGroup!.rank : 0;
}

/** Processes in the job (1 when not in a group). */
export function getWorldSize(): number {
  return isInitialized() ? defaultGroup!.worldSize : 1;
}

/** Whether this process should write logs, checkpoints and models: rank 0, or any process not in a group. */
export function isMainProcess(): boolean {
  return getRank() === 0;
}

/** Leaves the default group (or `group`): stops its heartbeat and releases it. */
export async function destroyProcessGroup(group?: ProcessGroup): Promise<void> {
  const target = group ?? defaultGroup;
  if (!target) return;
  await target.destroy();
  if (target === defaultGroup) defaultGroup = null;
}

/** Reduces `tensor` in place across the ranks of the default group (or options.group). */
export async function allReduce(tensor: Tensor, options: { op?: ReduceOp; group?: ProcessGroup } = {}): Promise<Tensor> {
  return (options.group ?? getDefaultGroup()).allReduce(tensor, options);
}

/** Copies `tensor` from rank `src` (default 0) to every rank of the default group (or options.group). */
export async function broadcast(tensor: Tensor, options: { src?: number; group?: ProcessGroup } = {}): Promise<Tensor> {
  return (options.group ?? getDefaultGroup()).broadcast(tensor, options);
}

/** Every rank's `tensor` in rank order (new tensors). */
export async function allGather(tensor: Tensor, options: { group?: ProcessGroup } = {}): Promise<Tensor[]> {
  return (options.group ?? getDefaultGroup()).allGather(tensor);
}

/** Resolves once every rank of the default group (or options.group) has reached it. */
export async function barrier(options: { group?: ProcessGroup } = {}): Promise<void> {
  return (options.group ?? getDefaultGroup()).barrier();
}
