import pg from 'pg';
import { DomainError } from '../../core/errors.js';

const INT8_OID = 20;

/**
 * bigint columns (fencing tokens, event ids) come back as numbers: both stay far below 2^53.
 * Scoped to stacklock's pools rather than set globally on the pg module.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as unknown as pg.CustomTypesConfig;

/** Settings every stacklock connection runs with. */
export function connectionConfig(connectionString: string): pg.ClientConfig {
  return {
    connectionString,
    types,
    application_name: 'stacklock',
    // An acknowledged grant must survive a crash of the database: commit waits for the WAL flush.
    // A session that sits in a transaction (a paused or dead replica) must not hold row locks for long.
    options: '-c synchronous_commit=on -c idle_in_transaction_session_timeout=10000',
    // No lock statement may wait forever (a stuck peer); the change feed's sweep looks back further than this.
    statement_timeout: 10_000,
    connectionTimeoutMillis: 5_000,
    keepAlive: true,
  };
}

export function createPool(connectionString: string, onIdleError: (error: Error) => void, max = 10): pg.Pool {
  const pool = new pg.Pool({ ...connectionConfig(connectionString), max, idleTimeoutMillis: 30_000 });
  // Idle connections die when the database restarts; the pool drops them and connects anew.
  pool.on('error', onIdleError);
  return pool;
}

/**
 * Runs `work` on a connection of its own. node-postgres emits a dead socket's error on the
 * client as an event as well as failing its query, and a checked-out client has no listener for
 * it (the pool listens only while the client is idle): without one, a database restart would
 * crash the process. The query's own rejection carries the error to the caller. A connection
 * whose work failed on an outage (or when `discard` says so) is dropped, not reused.
 */
export async function withClient<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, discard?: (error: unknown) => boolean): Promise<T> {
  const client = await pool.connect();
  const ignore = () => undefined;
  client.on('error', ignore);
  let failure: unknown = null;
  try {
    return await work(client);
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    client.removeListener('error', ignore);
    const drop = failure !== null && (isUnavailable(failure) || (discard?.(failure) ?? false));
    client.release(drop ? (failure as Error) : undefined);
  }
}

/** Runs `work` in one transaction on a connection of its own (see withClient); an outage becomes `Unavailable`. */
export function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return guarded(() =>
    withClient(pool, async (client) => {
      await client.query('BEGIN');
      try {
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    }),
  );
}

/** A statement run often enough to keep its plan: prepared once per connection under `name`. */
export interface Prepared {
  readonly name: string;
  readonly text: string;
}

const CACHED_PLAN_CHANGED = '0A000';

/**
 * Runs a prepared statement: parsed once per connection, not at every call (the lock statements
 * call functions whose inner statements keep their plans for the session). If another replica's
 * migration changed a table under a prepared `SELECT *` ("cached plan must not change result
 * type"), the connection is dropped rather than returned to the pool, and the statement runs again
 * on another.
 */
export async function queryPrepared<R extends pg.QueryResultRow>(pool: pg.Pool, statement: Prepared, values: unknown[]): Promise<R[]> {
  const stale = (error: unknown) => (error as { code?: string }).code === CACHED_PLAN_CHANGED;
  const run = () =>
    withClient(pool, async (client) => (await client.query<R>({ name: statement.name, text: statement.text, values })).rows, stale);
  try {
    return await run();
  } catch (error) {
    if (!stale(error)) throw error;
    return run();
  }
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', '57P01', '57P02', '57P03', '53300', '57014']);

/** The database is down, restarting, unreachable or out of connections: a 503, never a 500. */
export function isUnavailable(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | null;
  if (!e) return false;
  // Class 08 is connection exceptions, except 08P01 (a protocol violation: a bug, not an outage).
  if (e.code && (UNAVAILABLE_CODES.has(e.code) || (e.code.startsWith('08') && e.code !== '08P01'))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed/i.test(
    e.message ?? '',
  );
}

/** Runs a database call, turning an outage into `Unavailable` (the outcome of a write is then unknown). */
export async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUnavailable(error)) {
      throw new DomainError('Unavailable', 'the database is unavailable; retry (a retried acquire with the same holderId renews)', {
        retryable: true,
      });
    }
    throw error;
  }
}
