import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';

export interface Exit {
  /** The command's exit code, or null when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The shell's convention: 128 + the signal's number for a command a signal ended. */
export function exitCodeOf(exit: Exit): number {
  if (exit.code !== null) return exit.code;
  const n = exit.signal ? constants.signals[exit.signal] : undefined;
  return n === undefined ? 1 : 128 + n;
}

export interface Command {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  /** Signals the command and, when it runs in a process group of its own, everything it started. */
  signal(sig: NodeJS.Signals): void;
}

/**
 * Runs the command with its own stdio (inherited). Without a terminal (CI) it runs in a process
 * group of its own, so stopping it also stops what it started (a shell's terraform, its
 * providers). On a terminal it stays in ours, where it can read the terminal and gets Ctrl-C
 * from it directly. Rejects when it cannot be started (not found: 127, not executable: 126).
 */
export function startCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<Command> {
  const ownGroup = !process.stdin.isTTY;
  const [file, ...args] = argv as [string, ...string[]];
  const child = spawn(file, args, { stdio: 'inherit', env, detached: ownGroup });
  return new Promise((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      const code = error.code === 'ENOENT' ? 127 : error.code === 'EACCES' ? 126 : 1;
      reject(Object.assign(new Error(`cannot run '${file}': ${error.message}`), { exitCode: code }));
    });
    child.once('spawn', () => {
      const exited = new Promise<Exit>((res) => child.once('exit', (code, signal) => res({ code, signal })));
      resolve({
        child,
        exited,
        signal(sig) {
          if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
          try {
            if (ownGroup) process.kill(-child.pid, sig);
            else child.kill(sig);
          } catch {
            // Already gone.
          }
        },
      });
    });
  });
}
