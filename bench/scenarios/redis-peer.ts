import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createHistogram, performance } from 'node:perf_hooks';
import { createClient } from 'redis';
import { cpuSeconds, type LoadResult } from '../load.js';
import { benchDataDir, freePort } from '../servers.js';
import type { BenchOptions, Row } from './throughput.js';

/** The usual safe release: delete the key only while it still holds our value. */
const COMPARE_AND_DELETE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

export type RedisDurability = 'no-fsync' | 'fsync-always';

/**
 * The peer anchor: `SET key holder NX PX ttl` then a compare-and-delete script, through
 * node-redis, by as many clients (one connection each) as the HTTP scenarios use. The driver
 * runs here, redis-server in its own process. `fsync-always` is the configuration that, like
 * stacklock, answers only once the change is on disk (appendonly + appendfsync always).
 */
export async function redisPeer(o: BenchOptions, durability: RedisDurability): Promise<Row> {
  const scenario = `peer: Redis SET NX PX + compare-and-delete, ${durability === 'fsync-always' ? 'appendfsync always' : 'no persistence'}`;
  if (spawnSync('redis-server', ['--version']).error) {
    return { scenario, result: null, note: '', skipped: 'redis-server is not on PATH (apt-get install redis-server to measure it)' };
  }
  const port = await freePort();
  const dir = benchDataDir('redis');
  const persistence = durability === 'fsync-always' ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...persistence], { stdio: 'ignore' });
  const clients = Array.from({ length: o.connections }, () => createClient({ url: `redis://127.0.0.1:${port}` }));
  try {
    await connectWithRetry(clients);
    if (o.warmupSeconds > 0) await drive(clients, o.warmupSeconds, 'warm', []);
    const result = await drive(clients, o.seconds, 'run', [server.pid as number]);
    const bad = Object.entries(result.statuses).filter(([k]) => k !== 'ok').reduce((a, [, v]) => a + v, 0);
    return { scenario, result, note: `${Math.round(result.rps / 2)} pairs/s; redis-server ${redisVersion()}${bad ? `; ${bad} unexpected replies` : ''}` };
  } finally {
    await Promise.allSettled(clients.map((c) => c.quit()));
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function connectWithRetry(clients: ReturnType<typeof createClient>[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await (clients[0] as ReturnType<typeof createClient>).connect();
      break;
    } catch (error) {
      if (attempt > 100) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await Promise.all(clients.slice(1).map((c) => c.connect()));
}

async function drive(clients: ReturnType<typeof createClient>[], seconds: number, run: string, pids: number[]): Promise<LoadResult> {
  const histogram = createHistogram();
  const statuses: Record<string, number> = {};
  const count = (k: string) => (statuses[k] = (statuses[k] ?? 0) + 1);
  const cpuBefore = cpuSeconds(pids);
  const started = performance.now();
  const end = started + seconds * 1000;
  let n = 0;
  await Promise.all(
    clients.map(async (client) => {
      while (performance.now() < end) {
        const key = `bench/${run}/${n++}`;
        const holder = key;
        let t = performance.now();
        const set = await client.set(key, holder, { condition: 'NX', expiration: { type: 'PX', value: 600_000 } });
        histogram.record(Math.max(1, Math.round((performance.now() - t) * 1000)));
        count(set === 'OK' ? 'ok' : 'set-refused');
        t = performance.now();
        const deleted = await client.eval(COMPARE_AND_DELETE, { keys: [key], arguments: [holder] });
        histogram.record(Math.max(1, Math.round((performance.now() - t) * 1000)));
        count(deleted === 1 ? 'ok' : 'not-deleted');
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const responses = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    responses,
    seconds: elapsed,
    rps: responses / elapsed,
    p50Ms: histogram.percentile(50) / 1000,
    p99Ms: histogram.percentile(99) / 1000,
    maxMs: histogram.max / 1000,
    statuses,
    errors: 0,
    serverCpuSeconds: cpuSeconds(pids) - cpuBefore,
    histogram,
  };
}

function redisVersion(): string {
  const out = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout;
  return /v=(\S+)/.exec(out)?.[1] ?? 'unknown';
}
