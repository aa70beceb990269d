/** Serving models over HTTP: dynamic batching, limits, Prometheus metrics, graceful shutdown. */
export { Batcher, QueueFullError, AbortedError, type BatcherOptions, type BatchObserver } from './batcher.js';
export { ServedModel, type ServedModelOptions, type ServableModel } from './served-model.js';
export { InferenceServer, type ServeOptions } from './server.js';
export { ServerMetrics } from './metrics.js';
export { HttpError, readImages, type BodyLimits } from './request-body.js';
