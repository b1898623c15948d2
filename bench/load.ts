import autocannon from 'autocannon';
import type { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';

export interface HttpLoad {
  readonly url: string;
  readonly token: string;
  readonly connections: number;
  /** Seconds to run; ignored when `amount` is set. */
  readonly seconds?: number;
  /** Stop after this many responses instead of after `seconds`. */
  readonly amount?: number;
  /** The sequence each connection repeats (autocannon's `requests`). */
  readonly requests: autocannon.Request[];
  /** Seconds of the same load first, not measured (JIT, caches, connections). */
  readonly warmupSeconds?: number;
  /** Server processes whose CPU time the measured run is charged with (not the warm-up). */
  readonly pids?: readonly number[];
  /** Every response: when it completed (performance.now()) and how long it took. */
  readonly onSample?: (atMs: number, latencyMs: number, status: number) => void;
}

export interface LoadResult {
  readonly responses: number;
  readonly seconds: number;
  /** Responses per second, every status counted. */
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly statuses: Readonly<Record<string, number>>;
  /** Connection errors and timeouts: a healthy run has none. */
  readonly errors: number;
  /** CPU seconds the `pids` used during the measured run (user + system). */
  readonly serverCpuSeconds: number;
  /** Latency of every response in microseconds, for pooling runs side by side. */
  readonly histogram: RecordableHistogram;
}

/**
 * Drives a server with autocannon from this process (the server is always another process,
 * so the two never share an event loop). Latency is recorded from every response, refusals
 * included (autocannon's own histogram keeps only 2xx, at 1 ms resolution).
 */
export async function runHttpLoad(load: HttpLoad): Promise<LoadResult> {
  if (load.warmupSeconds && load.warmupSeconds > 0 && load.amount === undefined) {
    await runOnce({ ...load, seconds: load.warmupSeconds, onSample: undefined });
  }
  return runOnce(load);
}

async function runOnce(load: HttpLoad): Promise<LoadResult> {
  const latencyUs = createHistogram();
  const statuses: Record<string, number> = {};
  const cpuBefore = cpuSeconds(load.pids ?? []);
  const started = performance.now();
  const instance = autocannon({
    url: load.url,
    connections: load.connections,
    ...(load.amount !== undefined ? { amount: load.amount } : { duration: load.seconds ?? 10 }),
    // content-type goes on the requests that carry a body: fastify refuses an empty JSON body.
    headers: { authorization: `Bearer ${load.token}` },
    requests: load.requests,
    timeout: 30,
  }) as unknown as EventEmitter & Promise<autocannon.Result>; // without a callback: the tracker, made thenable
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    latencyUs.record(Math.max(1, Math.round(ms * 1000)));
    statuses[status] = (statuses[status] ?? 0) + 1;
    load.onSample?.(performance.now(), ms, status);
  });
  const result = await instance;
  const seconds = (performance.now() - started) / 1000;
  const responses = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    responses,
    seconds,
    rps: responses / seconds,
    p50Ms: latencyUs.percentile(50) / 1000,
    p99Ms: latencyUs.percentile(99) / 1000,
    maxMs: latencyUs.max / 1000,
    statuses,
    errors: result.errors + result.timeouts,
    serverCpuSeconds: cpuSeconds(load.pids ?? []) - cpuBefore,
    histogram: latencyUs,
  };
}

/** user + system CPU seconds of these processes so far, from /proc (Linux; 0 elsewhere). */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      // Fields after the command name (which may hold spaces) start at field 3: utime is 14, stime 15.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // not Linux, or the process is gone
    }
  }
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/** USER_HZ: 100 on every Linux build Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Responses whose status is not one of `expected`: a benchmark that hides failures measures nothing. */
export function unexpected(result: LoadResult, expected: readonly number[]): number {
  return Object.entries(result.statuses)
    .filter(([status]) => !expected.includes(Number(status)))
    .reduce((n, [, count]) => n + count, result.errors);
}
