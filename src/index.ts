/** Kestrel: train image classifiers from TypeScript on libtorch. */
export * from './tensor/index.js';
export * as nn from './nn/index.js';
export * from './optim/index.js';
export * from './data/index.js';
export * from './learn/index.js';
export { mnistCnn, mlp, type InputShape } from './vision/simple.js';
export { resnet18, resnet34, resnet50, ResNet, BasicBlock, Bottleneck, type ResNetOptions } from './vision/resnet.js';
export * from './io/index.js';
export * from './interpret/index.js';
export { Dashboard, type DashboardOptions, runsServer, listRuns, PageServer, type PageServerOptions, readRunMetrics, type RunMetrics, type RunInfo, DEFAULT_DASHBOARD_PORT } from './dashboard/index.js';
