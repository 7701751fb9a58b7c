/**
 * taskledger/metrics: Prometheus metrics, named by Prometheus conventions: base units (seconds), `_total`
 * counters, labels `namespace`, `queue`, `type`, `operation`, `outcome` and `code`: all bounded (no task
 * ids). Every setup function is safe to call twice for the same registry: it returns the metrics registered
 * the first time. prom-client is a peer dependency, so these register in the application's own registry.
 */
export { setupTaskQueueMetrics, queuerWithMetrics, dequeuerWithMetrics } from './task-queue-metrics.js';
export type { TaskQueueMetrics } from './task-queue-metrics.js';
export { setupSchedulerMetrics, schedulerWithMetrics } from './scheduler-metrics.js';
export type { SchedulerMetrics } from './scheduler-metrics.js';
export { workerWithMetrics } from './worker-metrics.js';
export type { WorkerMetrics } from './worker-metrics.js';
export { queueStateMetrics } from './queue-state-metrics.js';
export { metricsHandler } from './http-handler.js';
