import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess } from '../test/support/processes.js';

const TMPFS_MAGIC = 0x01021994;

/** A stacklock server process for the benchmark: its own data dir, the admin token, its pid. */
export interface BenchServer {
  readonly url: string;
  readonly token: string;
  readonly pid: number;
  /** The processes doing this server's work, charged with its CPU time (the server itself). */
  readonly pids: readonly number[];
  readonly dataDir: string;
  stop(): Promise<void>;
}

/**
 * The data dir is on the machine's temp disk; on tmpfs an fsync costs nothing and the
 * durable-write figures would mean nothing, so that is refused.
 */
export function benchDataDir(label: string): string {
  const base = process.env.BENCH_DATA_DIR ?? tmpdir();
  if (statfsSync(base).type === TMPFS_MAGIC) {
    throw new Error(`${base} is tmpfs, where fsync is free: set BENCH_DATA_DIR to a folder on a real disk`);
  }
  return mkdtempSync(join(base, `stacklock-bench-${label}-`));
}

/**
 * Starts `stacklock server` (the compiled build) at log level warn: request logging would add
 * the same fixed cost to the ceiling and to every lock operation, which flatters the ratios.
 */
export async function startBenchServer(label: string, options: { databaseUrl?: string; dataDir?: string } = {}): Promise<BenchServer> {
  const dataDir = options.dataDir ?? benchDataDir(label);
  const args = options.databaseUrl ? ['--database-url', options.databaseUrl] : [];
  const proc: ServerProcess = await startServerProcess(dataDir, args, { STACKLOCK_LOG_LEVEL: 'warn' }, { port: await freePort() });
  return {
    url: proc.url,
    token: proc.adminToken,
    pid: proc.child.pid as number,
    pids: [proc.child.pid as number],
    dataDir,
    async stop() {
      await proc.kill('SIGTERM');
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A value from the server's Prometheus text (process and Node defaults come from prom-client);
 * with `labels`, the series whose labels include each of them (`method="GET"`).
 */
export async function metricValue(url: string, name: string, labels: string[] = []): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) && labels.every((label) => l.includes(label)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}
