import { writeFileSync } from 'node:fs';
import { expect } from 'vitest';
import { checkHistory, type CheckReport } from './checker.js';
import { Cluster, sleep, type FaultRecord } from './cluster.js';
import { runWorkload } from './workload.js';

export interface HistoryRunOptions {
  readonly replicas: number;
  readonly clients: number;
  readonly keys: number;
  readonly durationMs: number;
  readonly ttlMs: number;
  /**
   * 'own' starts a PostgreSQL the run may restart; a URL runs without the Postgres-restart fault;
   * 'sqlite' runs one server on its SQLite file (kill -9 and pause only).
   */
  readonly database: string | 'own' | 'sqlite';
  readonly faults: boolean;
  readonly env?: Record<string, string>;
}

export interface HistoryRunReport extends CheckReport {
  readonly faults: FaultRecord[];
  /** Replicas that died on their own (a fault must not kill the service): none may. */
  readonly crashes: string[];
  readonly durationMs: number;
}

/**
 * Runs the workload against a fresh cluster while a fault schedule repeats every 20 s (or once
 * over a shorter run): a replica killed with SIGKILL and restarted, a replica paused (SIGSTOP)
 * longer than the TTL, and a PostgreSQL restart (a crash in even rounds, a clean stop in odd ones).
 * Then checks the history.
 */
export async function runHistory(options: HistoryRunOptions): Promise<HistoryRunReport> {
  const cluster = await Cluster.start({ replicas: options.replicas, database: options.database, ...(options.env ? { env: options.env } : {}) });
  const started = Date.now();
  try {
    const workload = runWorkload(cluster, {
      clients: options.clients,
      keys: options.keys,
      ttlMs: options.ttlMs,
      durationMs: options.durationMs,
      requestTimeoutMs: 1_500,
    });
    const faults = options.faults ? injectFaults(cluster, options) : Promise.resolve();
    const [{ history, resources }] = await Promise.all([workload, faults]);
    const report = checkHistory(history.ops, resources);
    // HISTORY_DUMP=<file>: keep the raw history and fault times for a closer look.
    if (process.env.HISTORY_DUMP) writeFileSync(process.env.HISTORY_DUMP, JSON.stringify({ ops: history.ops, faults: cluster.faults }));
    return { ...report, faults: cluster.faults, crashes: [...cluster.crashes], durationMs: Date.now() - started };
  } finally {
    await cluster.stop();
  }
}

async function injectFaults(cluster: Cluster, options: HistoryRunOptions): Promise<void> {
  const period = Math.min(20_000, options.durationMs);
  const end = Date.now() + options.durationMs;
  const canRestartPostgres = options.database === 'own';
  for (let round = 0; Date.now() + period * 0.75 < end; round++) {
    const roundStart = Date.now();
    const at = async (fraction: number) => sleep(Math.max(0, roundStart + period * fraction - Date.now()));
    await at(0.15);
    await cluster.killAndRestart(round % cluster.size, 1_000);
    await at(0.4);
    await cluster.pause((round + 1) % cluster.size, options.ttlMs + 1_500);
    if (canRestartPostgres) {
      await at(0.7);
      // Alternating, starting with the harder one: a crash, then a clean restart.
      await cluster.restartPostgres(1_000, round % 2 === 0);
    }
    await at(1);
  }
}

/** What a run with faults must show: each named fault dealt, no violation, no replica dead of one. */
export function expectClean(report: HistoryRunReport, faults: readonly string[]): void {
  for (const fault of faults) expect(report.faults.map((f) => f.what).find((what) => what.startsWith(fault)), `fault "${fault}"`).toBeDefined();
  expect(report.violations).toEqual([]);
  expect(report.crashes).toEqual([]);
}

export function formatReport(name: string, r: HistoryRunReport): string {
  const o = r.outcomes;
  const lines = [
    `${name}: ${r.operations} operations checked (ok ${o.ok}, refused ${o.refused}, unknown ${o.unknown}, failed ${o.fail}), ` +
      `${r.grants} grants, ${r.violations.length} violations, in ${(r.durationMs / 1000).toFixed(1)} s`,
    `  faults: ${r.faults.map((f) => f.what).join('; ') || 'none'}`,
    ...r.crashes.map((c) => `  CRASH ${c.split('\n')[0]}`),
    ...r.violations.slice(0, 10).map((v) => `  VIOLATION [${v.check}] ${v.message}`),
  ];
  return lines.join('\n');
}
