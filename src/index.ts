/** Kestrel: train image classifiers from TypeScript on libtorch. */
export * from './tensor/index.js';
export * as nn from './nn/index.js';
export * from './optim/index.js';
export * as distributed from './distributed/index.js';
export {
  initProcessGroup, destroyProcessGroup, getRank, getWorldSize, isMainProcess, distributedEnv, distributedSupport, ProcessGroup, RankLostError,
  type InitProcessGroupOptions,
} from './distributed/index.js';
export * from './data/index.js';
export * from './learn/index.js';
export * from './vision/index.js';
export * from './io/index.js';
export * from './interpret/index.js';
export { Dashboard, type DashboardOptions, runsServer, listRuns, PageServer, type PageServerOptions, readRunMetrics, type RunMetrics, type RunInfo, DEFAULT_DASHBOARD_PORT } from './dashboard/index.js';
