import { createHistogram } from 'node:perf_hooks';
import type { LoadResult } from '../load.js';
import { runHttpLoad, unexpected } from '../load.js';
import type { BenchServer } from '../servers.js';
import { contention, lockUnlockDistinct, whoami, type ContentionCounts } from './lock-requests.js';

export interface BenchOptions {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
}

/** A throughput measurement the rounds repeat; `id` names it across rounds. */
export interface Scenario {
  readonly id: string;
  run(): Promise<Row>;
}

/** One line of the table; its ratio is taken against the ceiling measured in the same round. */
export interface Row {
  readonly scenario: string;
  readonly result: LoadResult | null;
  readonly note: string;
  /** Set when the scenario could not run here, with the reason. */
  readonly skipped?: string;
}

function checked(result: LoadResult, expected: number[], what: string): string {
  const bad = unexpected(result, expected);
  return bad === 0 ? '' : `; ${bad} unexpected responses (${JSON.stringify(result.statuses)}, ${result.errors} errors) in ${what}`;
}

export async function ceiling(server: BenchServer, o: BenchOptions, label: string): Promise<Row> {
  const result = await runHttpLoad({ url: server.url, token: server.token, connections: o.connections, seconds: o.seconds,
    warmupSeconds: o.warmupSeconds, requests: whoami(), pids: server.pids });
  return { scenario: `ceiling: GET /api/v1/whoami, ${label}`, result, note: `authenticated no-op${checked(result, [200], 'whoami')}` };
}

/** Lock + unlock pairs on distinct keys, spread over one or more servers sharing one store. */
/** A running count of durable flushes (SQLite commits, PostgreSQL WAL fsyncs), to tell how many writes share one. */
export type FlushCounter = () => Promise<number>;

export async function lockUnlock(servers: BenchServer[], o: BenchOptions, label: string, extraPids: number[] = [], flushes?: FlushCounter): Promise<Row> {
  const per = Math.floor(o.connections / servers.length);
  const side = (seconds: number, pids: (i: number) => readonly number[]) =>
    Promise.all(
      servers.map((s, i) =>
        runHttpLoad({ url: s.url, token: s.token, connections: i === 0 ? o.connections - per * (servers.length - 1) : per,
          seconds, requests: lockUnlockDistinct(`${label}-${i}-${Date.now()}`), pids: pids(i) }),
      ),
    );
  if (o.warmupSeconds > 0) await side(o.warmupSeconds, () => []);
  const flushesBefore = await flushes?.();
  const result = merge(await side(o.seconds, (i) => (i === 0 ? extraPids.concat(...servers.map((x) => x.pids)) : [])));
  const flushed = flushes && flushesBefore !== undefined ? (await flushes()) - flushesBefore : NaN;
  const sharing = Number.isFinite(flushed) && flushed > 0 ? `; ${(result.responses / flushed).toFixed(1)} ops per durable flush` : '';
  return {
    scenario: `lock+unlock, distinct keys, ${label}`,
    result,
    note: `${Math.round(result.rps / 2)} pairs/s${sharing}${checked(result, [200, 201], 'lock+unlock')}`,
  };
}

export async function contended(server: BenchServer, o: BenchOptions, label: string, keys = 10): Promise<Row> {
  const counts: ContentionCounts = { grants: 0, refusals: 0, duplicateTokens: 0 };
  const warm: ContentionCounts = { grants: 0, refusals: 0, duplicateTokens: 0 };
  if (o.warmupSeconds > 0) {
    await runHttpLoad({ url: server.url, token: server.token, connections: o.connections, seconds: o.warmupSeconds,
      requests: contention(`warm-${Date.now()}`, keys, warm) });
  }
  const result = await runHttpLoad({ url: server.url, token: server.token, connections: o.connections, seconds: o.seconds,
    requests: contention(`run-${Date.now()}`, keys, counts), pids: server.pids });
  const s = result.seconds;
  const dup = counts.duplicateTokens === 0 ? '' : `; ${counts.duplicateTokens} DUPLICATE fencing tokens`;
  return {
    scenario: `${o.connections} clients contending for ${keys} keys, ${label}`,
    result,
    note: `${Math.round(counts.grants / s)} grants/s, ${Math.round(counts.refusals / s)} refusals/s${dup}${checked(result, [200, 201, 409], 'contention')}`,
  };
}

/** Loads run side by side against several servers, read as one: rates add, latencies pool. */
function merge(results: LoadResult[]): LoadResult {
  if (results.length === 1) return results[0] as LoadResult;
  const histogram = createHistogram();
  const statuses: Record<string, number> = {};
  for (const r of results) {
    histogram.add(r.histogram);
    for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  }
  return {
    responses: results.reduce((a, r) => a + r.responses, 0),
    seconds: Math.max(...results.map((r) => r.seconds)),
    rps: results.reduce((a, r) => a + r.rps, 0),
    p50Ms: histogram.percentile(50) / 1000,
    p99Ms: histogram.percentile(99) / 1000,
    maxMs: histogram.max / 1000,
    statuses,
    errors: results.reduce((a, r) => a + r.errors, 0),
    serverCpuSeconds: results.reduce((a, r) => a + r.serverCpuSeconds, 0),
    histogram,
  };
}
