import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { bootstrap } from './auth/bootstrap.js';
import type { Config, Env } from './config.js';
import { Reaper } from './core/reaper.js';
import { buildApp, type AppDeps } from './http/app.js';
import type { Store } from './core/ports/store.js';
import { DataDirInUse, lockDataDir, type DataDirLock } from './store/sqlite/data-dir-lock.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';

/**
 * The history checker's teeth test sets this to make the PostgreSQL acquire skip its condition.
 * Honoured only when NODE_ENV=test as well, so no production start can break locking by accident.
 */
export const UNSAFE_SKIP_ACQUIRE_CONDITION = 'STACKLOCK_TEST_UNSAFE_SKIP_ACQUIRE_CONDITION';

/** Picks the backend: PostgreSQL when a database URL is configured, else the embedded SQLite file. */
export async function createStore(config: Config, env: Env = process.env, log: StoreLog = () => undefined): Promise<Store> {
  if (config.databaseUrl) {
    const unsafe = env.NODE_ENV === 'test' && env[UNSAFE_SKIP_ACQUIRE_CONDITION] === '1';
    if (unsafe) log('warn', `${UNSAFE_SKIP_ACQUIRE_CONDITION}=1: acquire skips its condition; mutual exclusion is BROKEN (tests only)`);
    // Loaded only when used: every CLI command imports this module, and pg costs a few hundred ms to load.
    const { PostgresStore } = await import('./store/postgres/postgres-store.js');
    const pgStore = new PostgresStore({ connectionString: config.databaseUrl, log, unsafeSkipAcquireCondition: unsafe });
    try {
      await pgStore.migrate();
    } catch (error) {
      await pgStore.close().catch(() => undefined);
      throw error;
    }
    return pgStore;
  }
  const store = new SqliteStore({ path: join(config.dataDir, 'stacklock.db') });
  await store.migrate();
  return store;
}

/** A start that cannot go on for a reason the operator can fix: one line, and exit 2. */
export class StartupRefused extends Error {}

export type StoreLog = (level: 'warn' | 'error', message: string, error?: unknown) => void;

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly url: string;
  close(): Promise<void>;
}

/** Wiring only: store, first-start bootstrap, app, reaper, listen. */
export async function startServer(config: Config, deps: Partial<AppDeps> = {}): Promise<RunningServer> {
  let appLog: FastifyInstance['log'] | null = null;
  const storeLog: StoreLog = (level, message, error) => {
    if (appLog) appLog[level]({ err: error }, message);
    else process.stderr.write(`${message}\n`);
  };
  // One server per SQLite data dir, refused before the database is opened.
  let dataDir: DataDirLock | null = null;
  if (!deps.store && !config.databaseUrl) {
    mkdirSync(config.dataDir, { recursive: true });
    try {
      dataDir = lockDataDir(config.dataDir);
    } catch (error) {
      if (error instanceof DataDirInUse) throw new StartupRefused(error.message);
      throw error;
    }
  }
  let store: Store;
  try {
    store = deps.store ?? (await createStore(config, process.env, storeLog));
  } catch (error) {
    dataDir?.release();
    throw error;
  }
  const app = await buildApp(config, { ...deps, store });
  appLog = app.log;
  const boot = await bootstrap(store, config.dataDir);
  if (boot.adminTokenPath) {
    app.log.info({ path: boot.adminTokenPath }, `first start: created workspace 'default' and wrote its admin token to ${boot.adminTokenPath} (mode 0600)`);
  }
  const reaper = new Reaper(store, {
    intervalMs: config.reapIntervalMs,
    lockDelayMs: config.lockDelayMs,
    onError: (error) => app.log.error({ err: error }, 'reaper pass failed'),
  });
  store.onChange((c) => {
    if (c.kind === 'expired') app.log.info({ key: c.key, token: c.token, workspaceId: c.workspaceId }, 'lock expired');
  });
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await app.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    dataDir?.release();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new StartupRefused(`port ${config.port} on ${config.host} is already in use (another stacklock server, or another program): stop it, or start with --port <port> (env PORT)`);
    }
    if (code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new StartupRefused(`cannot listen on ${config.host}:${config.port} (${code}): pick another --host or --port (ports below 1024 need privileges)`);
    }
    throw error;
  }
  reaper.start();
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  app.log.info({ url, backend: store.capabilities.backend, dataDir: config.dataDir }, `stacklock listening on ${url}`);
  let closing: Promise<void> | null = null;
  return {
    app,
    store,
    url,
    close: () =>
      (closing ??= (async () => {
        await reaper.stop();
        await app.close();
        await store.close();
        dataDir?.release();
      })()),
  };
}
