import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CommitStats, CommitStatsSource } from '../core/ports/commit-stats.js';

/** One registry per app, so several apps in one test process do not collide. */
export function createMetrics(commits: CommitStatsSource | null = null) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  if (commits) {
    // Read from the store at each scrape; counters only go up, so add what is new since the last one.
    const seen = { commits: 0, writes: 0 };
    const fromStore = (field: keyof CommitStats) =>
      function (this: Counter) {
        const now = commits.commitStats()[field];
        this.inc(Math.max(0, now - seen[field]));
        seen[field] = now;
      };
    new Counter({ name: 'stacklock_store_commits_total', help: 'Durable store transactions (each one flush to disk)', registers: [registry], collect: fromStore('commits') });
    new Counter({ name: 'stacklock_store_writes_total', help: 'Writes carried by those transactions (writes / commits = group size)', registers: [registry], collect: fromStore('writes') });
  }
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
