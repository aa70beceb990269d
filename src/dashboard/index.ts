/** Local pages: the live training dashboard, finished runs side by side, and the HTTP pieces they share. */
export { Dashboard, type DashboardOptions } from './callback.js';
export { PageServer, type PageServerOptions, type ApiRoute, DEFAULT_DASHBOARD_PORT } from './server.js';
export { listRuns, runsServer, readRunMetrics, type RunSummary, type RunInfo, type RunMetrics } from './runs.js';
export { safeRelativePath, contentSecurityPolicy, SseClient, packageRoot } from './http.js';
