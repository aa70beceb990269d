/** Data-parallel building blocks on torch.distributed's c10d: stores, process groups, collectives, gradient reducer. */
export { distributedSupport, type DistributedSupport } from './native.js';
export { createTcpStore, Store, DEFAULT_TIMEOUT_MS, type TcpStoreOptions } from './store.js';
export { ProcessGroup, type Backend, type ReduceOp } from './process-group.js';
export {
  initProcessGroup, destroyProcessGroup, isInitialized, getDefaultGroup, getRank, getWorldSize, isMainProcess,
  allReduce, broadcast, allGather, barrier, type InitProcessGroupOptions,
} from './init.js';
export { distributedEnv, type DistributedEnv } from './env.js';
export { RankLostError, HEARTBEAT_INTERVAL_MS, isCommunicationFailure } from './health.js';
export { GradientReducer, type GradientReducerOptions } from './reducer.js';
export { launchWorkers, type LaunchOptions, type LaunchResult, type WorkerExit } from './launch.js';
