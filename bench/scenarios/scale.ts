import { statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runHttpLoad, unexpected } from '../load.js';
import type { Fact, Target } from '../report.js';
import { metricValue, startBenchServer, type BenchServer } from '../servers.js';
import { acquireDistinct } from './lock-requests.js';
import type { BenchOptions } from './throughput.js';
import { reaperUnderLoad } from './reaper-load.js';

export interface ScaleOptions {
  /** Live locks held while memory and listing are measured. */
  readonly locks: number;
  /** Locks that expire at the same instant for the reaper measurement. */
  readonly expiries: number;
}

const TARGET_PREFIX = 'scale/target/';
const MATCHES = 100;

/** Memory with many live locks, listing by a prefix that matches 100 of them, and the reaper's cost. */
export async function scale(o: BenchOptions, s: ScaleOptions, start: () => Promise<BenchServer> = () => startBenchServer('scale')): Promise<{ facts: Fact[]; targets: Target[] }> {
  const server = await start();
  const facts: Fact[] = [];
  const targets: Target[] = [];
  try {
    const rssBefore = await metricValue(server.url, 'process_resident_memory_bytes');
    const fill = await runHttpLoad({ url: server.url, token: server.token, connections: o.connections, amount: s.locks, pids: server.pids,
      requests: acquireDistinct((i) => (i < MATCHES ? `${TARGET_PREFIX}${String(i).padStart(3, '0')}` : `scale/fill/${i % 1000}/${i}`), { ms: 3_600_000 }) });
    const bad = unexpected(fill, [201]);
    facts.push({ what: `acquire only, distinct keys, filling to ${s.locks} live locks`, value: `${Math.round(fill.rps)} ops/s`,
      note: `p50 ${fill.p50Ms.toFixed(2)} ms, p99 ${fill.p99Ms.toFixed(2)} ms${bad ? `; ${bad} unexpected responses ${JSON.stringify(fill.statuses)}` : ''}` });
    const rss = await metricValue(server.url, 'process_resident_memory_bytes');
    const heap = await metricValue(server.url, 'nodejs_heap_size_used_bytes');
    facts.push({ what: `server memory with ${s.locks} live locks`, value: `${mb(rss)} RSS`,
      note: `${mb(rss - rssBefore)} more than at start; JS heap ${mb(heap)}${storageNote(server)}` });

    const list = await timeListing(server, 50);
    facts.push({ what: `list by a prefix matching ${MATCHES} of ${s.locks} (HTTP round trip, one client)`, value: `p50 ${list.p50.toFixed(2)} ms`,
      note: `p99 ${list.p99.toFixed(2)} ms, max ${list.max.toFixed(2)} ms over ${list.runs} calls; server-side mean ${list.serverMeanMs.toFixed(2)} ms${list.wrong ? `; ${list.wrong} answers without exactly ${MATCHES} locks` : ''}` });
    targets.push({ what: `listing ${s.locks} locks by a prefix matching ${MATCHES} in under 20 ms`, met: list.wrong === 0 && list.p99 < 20,
      measured: `p99 ${list.p99.toFixed(2)} ms` });

    const reap = await reaperUnderLoad(server, o, s.expiries, fill.rps);
    facts.push(...reap.facts);
    targets.push(...reap.targets);
  } finally {
    await server.stop();
  }
  return { facts, targets };
}

async function timeListing(server: BenchServer, runs: number) {
  const times: number[] = [];
  let wrong = 0;
  // The server's own time for these requests (routing, auth, query, serialization), without the client and the network.
  const series = ['method="GET"', 'route="/api/v1/locks"', 'status="200"'];
  const serverTime = async () => ({
    sum: await metricValue(server.url, 'stacklock_http_request_duration_seconds_sum', series),
    count: await metricValue(server.url, 'stacklock_http_request_duration_seconds_count', series),
  });
  let before = { sum: 0, count: 0 };
  const url = `${server.url}/api/v1/locks?prefix=${encodeURIComponent(TARGET_PREFIX)}&limit=1000`;
  for (let i = 0; i < runs + 5; i++) {
    const t = performance.now();
    const res = await fetch(url, { headers: { authorization: `Bearer ${server.token}` } });
    const body = (await res.json()) as { data?: { locks?: unknown[] } };
    const ms = performance.now() - t;
    if (i < 5) {
      if (i === 4) before = await serverTime();
      continue; // warm-up: connection, JIT
    }
    times.push(ms);
    if (body.data?.locks?.length !== MATCHES) wrong++;
  }
  const after = await serverTime();
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] as number;
  const serverMeanMs = after.count > before.count ? ((after.sum - before.sum) / (after.count - before.count)) * 1000 : NaN;
  return { runs, p50: at(0.5), p99: at(0.99), max: times[times.length - 1] as number, wrong, serverMeanMs };
}

function storageNote(server: BenchServer): string {
  try {
    const db = join(server.dataDir, 'stacklock.db');
    const size = statSync(db).size + (statSync(`${db}-wal`, { throwIfNoEntry: false })?.size ?? 0);
    return `; SQLite file + WAL ${mb(size)} (locks live on disk, not in the heap)`;
  } catch {
    return '';
  }
}

const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;
