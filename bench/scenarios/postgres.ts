import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { startLocalPostgres, type LocalPostgres } from '../../test/support/embedded-postgres.js';
import { createTestDatabase } from '../../test/support/postgres.js';
import { startBenchServer, type BenchServer } from '../servers.js';
import { ceiling, contended, lockUnlock, type BenchOptions, type FlushCounter, type Row, type Scenario } from './throughput.js';

export interface PostgresSetup {
  /** The no-op of the first replica: the PostgreSQL rows' ceiling. */
  readonly ceiling: () => Promise<Row>;
  readonly scenarios: Scenario[];
  close(): Promise<void>;
}

/**
 * The PostgreSQL rows: DATABASE_URL when set (its user needs CREATEDB), else an embedded
 * cluster started here. One fresh database, two replicas sharing it: one replica alone, then
 * both with the load split evenly. CPU is charged to the servers and the database's processes.
 */
export async function postgresSetup(o: BenchOptions): Promise<PostgresSetup> {
  let local: LocalPostgres | null = null;
  const adminUrl = process.env.DATABASE_URL ?? (local = await startLocalPostgres('stacklock-bench-pg')).url;
  const db = await createTestDatabase(adminUrl);
  const servers: BenchServer[] = [];
  const close = async () => {
    for (const s of servers.reverse()) await s.stop();
    await db.drop().catch(() => undefined);
    await local?.destroy();
  };
  try {
    servers.push(await startBenchServer('pg', { databaseUrl: db.url }));
    // The second replica shares the first's data dir only for the admin token file; the data is in PostgreSQL.
    servers.push(await startBenchServer('pg2', { databaseUrl: db.url, dataDir: (servers[0] as BenchServer).dataDir }));
  } catch (error) {
    await close();
    throw error;
  }
  const [first, second] = servers as [BenchServer, BenchServer];
  const where = local ? 'embedded' : 'DATABASE_URL';
  // Backends come and go with the pools: look them up at each run.
  const withDb = async (s: BenchServer) => ({ ...s, pids: [...s.pids, ...(await postgresPids(db.url))] });
  const scenarios: Scenario[] = [
    { id: 'pg-1', run: async () => lockUnlock([first], o, `PostgreSQL (${where}), 1 replica`, await postgresPids(db.url), walFsyncs(db.url)) },
    { id: 'pg-2', run: async () => lockUnlock([first, second], o, `PostgreSQL (${where}), 2 replicas`, await postgresPids(db.url), walFsyncs(db.url)) },
    { id: 'pg-contention', run: async () => contended(await withDb(first), o, `PostgreSQL (${where}), 1 replica`) },
  ];
  return { ceiling: async () => ceiling(await withDb(first), o, `PostgreSQL server (${where})`), scenarios, close };
}

/**
 * WAL fsyncs so far, from pg_stat_io (PostgreSQL 18: WAL I/O is counted there). Backends report
 * their counters within about a second, so over a 10 s run the figure is close, not exact.
 */
function walFsyncs(url: string): FlushCounter {
  return async () => {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      const r = await client.query<{ n: string | null }>("SELECT sum(fsyncs) AS n FROM pg_stat_io WHERE object = 'wal'");
      return Number(r.rows[0]?.n ?? NaN);
    } catch {
      return NaN; // an older PostgreSQL without WAL rows in pg_stat_io
    } finally {
      await client.end().catch(() => undefined);
    }
  };
}

/** The postmaster and its children (backends, WAL writer, checkpointer), when the database runs on this machine. */
async function postgresPids(url: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    const dir = (await client.query<{ data_directory: string }>('SHOW data_directory')).rows[0]?.data_directory;
    const postmaster = Number(readFileSync(`${dir}/postmaster.pid`, 'utf8').split('\n')[0]);
    const children = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d) && parentOf(d) === postmaster)
      .map(Number);
    return [postmaster, ...children];
  } catch {
    return []; // a remote database: its CPU is not ours to see
  } finally {
    await client.end().catch(() => undefined);
  }
}

function parentOf(pid: string): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}
