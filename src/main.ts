import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { bootstrap } from './auth/bootstrap.js';
import type { Config, Env } from './config.js';
import { Reaper } from './core/reaper.js';
import { buildApp, type AppDeps } from './http/app.js';
import type { Store } from './store/store.js';
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
  const store = deps.store ?? (await createStore(config, process.env, storeLog));
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
  await app.listen({ port: config.port, host: config.host });
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
      })()),
  };
}
