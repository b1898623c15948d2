import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { join } from 'node:path';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { buildConfig, type Config } from '../../src/config.js';
import type { Clock } from '../../src/core/clock.js';
import { buildApp, type AppDeps } from '../../src/http/app.js';
import type { Store } from '../../src/core/ports/store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { readFileSync } from 'node:fs';
import { makeTempDir } from './temp.js';

export interface TestApp {
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly config: Config;
  readonly adminToken: string;
  readonly dataDir: string;
  /** inject() with the admin token unless `token` says otherwise (null: no Authorization header). */
  call(options: InjectOptions & { token?: string | null }): Promise<LightMyRequestResponse>;
  /** Creates an API token with these scopes and returns it. */
  token(name: string, scopes: string[]): Promise<string>;
  close(): Promise<void>;
}

/** A fresh temp dir, removed at the end of the run (see makeTempDir). */
export function tempDir(prefix = 'stacklock-test-'): string {
  return makeTempDir(prefix);
}

/** An app on a real SQLite file in a temp dir, bootstrapped like a first start. */
export async function makeTestApp(
  options: { clock?: Clock; store?: Store; env?: Record<string, string>; webDir?: string; logger?: AppDeps['logger'] } = {},
): Promise<TestApp> {
  const dataDir = tempDir();
  const config = buildConfig({ dataDir }, { ...(options.env ?? {}) });
  const store = options.store ?? new SqliteStore({ path: join(dataDir, 'stacklock.db'), ...(options.clock ? { clock: options.clock } : {}) });
  await store.migrate();
  const app = await buildApp(config, { store, logger: options.logger ?? false, ...(options.clock ? { clock: options.clock } : {}), ...(options.webDir ? { webDir: options.webDir } : {}) });
  await bootstrap(store, dataDir);
  const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  const call: TestApp['call'] = (opts) => {
    const { token, ...rest } = opts;
    const t = token === undefined ? adminToken : token;
    return app.inject({
      ...rest,
      headers: { ...(t ? { authorization: `Bearer ${t}` } : {}), ...(rest.headers ?? {}) },
    });
  };
  return {
    app,
    store,
    config,
    adminToken,
    dataDir,
    call,
    async token(name, scopes) {
      const r = await call({ method: 'POST', url: '/api/v1/tokens', payload: { name, scopes } });
      if (r.statusCode !== 201) throw new Error(`token create failed: ${r.body}`);
      return r.json().data.token as string;
    },
    async close() {
      await app.close();
      await store.close();
    },
  };
}
