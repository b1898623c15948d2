import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The checkout: the nearest folder up that holds bin/stacklock.js (also from compiled copies, e.g. the benchmark's). */
export const ROOT = findRoot(import.meta.dirname);
export const BIN = join(ROOT, 'bin/stacklock.js');
/** The CLI in tests never reads the developer's own `stacklock login` (a directory that does not exist). */
export const NO_USER_CONFIG = join(tmpdir(), 'stacklock-no-user-config');

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'bin/stacklock.js'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no bin/stacklock.js above ${from}`);
  }
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly dataDir: string;
  readonly adminToken: string;
  /** Everything the server wrote to stdout and stderr so far. */
  log(): string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `stacklock server` as a real process on a random loopback port (the compiled build:
 * `npm test` builds first) and waits until it says where it listens. With `port` it listens
 * there and is ready when /readyz answers, which also works at log levels above info.
 */
export async function startServerProcess(
  dataDir: string,
  extraArgs: string[] = [],
  env: Record<string, string> = {},
  options: { port?: number } = {},
): Promise<ServerProcess> {
  // A server is on SQLite unless the test says otherwise: DATABASE_URL, when set for the run, names
  // the PostgreSQL server that tests make their own databases on (test/support/postgres.ts).
  const { DATABASE_URL: _runDatabase, ...inherited } = process.env;
  const child = spawn(process.execPath, [BIN, 'server', '--data-dir', dataDir, '--port', String(options.port ?? 0), ...extraArgs], {
    env: { ...inherited, ...env, STACKLOCK_LOG_LEVEL: env.STACKLOCK_LOG_LEVEL ?? 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The latest output only: long runs (the history checker's soak) log every request.
  let output = '';
  const keep = (d: Buffer) => {
    output += d;
    if (output.length > 1_000_000) output = output.slice(-500_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((res) => child.once('exit', (code, signal) => res(code ?? (signal ? -1 : null))));
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`server did not start:\n${output}`)), 20_000);
    const check = () => {
      const m = /stacklock listening on (http:\/\/\S+?)"/.exec(output) ?? /stacklock listening on (http:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        res(m[1] as string);
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    if (options.port) pollReady(`http://127.0.0.1:${options.port}`, () => child.exitCode === null).then((u) => {
      clearTimeout(timer);
      res(u);
    }, () => undefined);
    child.once('exit', () => {
      clearTimeout(timer);
      rej(new Error(`server exited before listening:\n${output}`));
    });
  });
  return {
    child,
    url,
    dataDir,
    adminToken: readFileSync(join(dataDir, 'admin-token'), 'utf8').trim(),
    log: () => output,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

async function pollReady(url: string, alive: () => boolean): Promise<string> {
  while (alive()) {
    const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ok) return url;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('exited');
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI as a subprocess: stdout, stderr, exit code. */
export function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  options: { timeoutMs?: number; cwd?: string; stdin?: string } = {},
): Promise<CliResult> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, GITHUB_ACTIONS: '', XDG_CONFIG_HOME: NO_USER_CONFIG, ...env },
      stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    if (options.stdin !== undefined) child.stdin!.end(options.stdin);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`stacklock ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}
