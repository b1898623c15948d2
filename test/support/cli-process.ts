import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, NO_USER_CONFIG } from './processes.js';

/** A CLI process a test can watch while it runs, signal, and wait for. */
export interface RunningCli {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (128 + n for a signal, as a shell reports it). */
  readonly exited: Promise<number>;
  /** Resolves once stderr matches. */
  stderrMatches(re: RegExp, timeoutMs?: number): Promise<void>;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

export function startCli(args: string[], env: Record<string, string | undefined> = {}): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, GITHUB_ACTIONS: '', XDG_CONFIG_HOME: NO_USER_CONFIG, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? 128 + (SIGNALS[signal ?? ''] ?? 0))));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stderrMatches(re, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(err)) {
        if (Date.now() > deadline) throw new Error(`stderr never matched ${re}:\n${err}`);
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited before stderr matched ${re}:\n${err}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

/** Whether a process is still alive (signal 0 probes without signalling). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
