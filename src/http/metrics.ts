import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per app, so several apps in one test process do not collide. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'stacklock_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [registry],
    }),
    lockOperations: new Counter({
      name: 'stacklock_lock_operations_total',
      help: 'Lock operations by kind and outcome',
      labelNames: ['operation', 'outcome'] as const,
      registers: [registry],
    }),
    expired: new Counter({
      name: 'stacklock_locks_expired_total',
      help: 'Lock expiries recorded (lock.expired) that this process heard of; with several replicas each counts every expiry',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
