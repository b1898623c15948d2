import { randomBytes } from 'node:crypto';
import { Option, type Command as Commander } from 'commander';
import { formatDuration } from '../../core/duration.js';
import { acquireLock } from '../acquire.js';
import { encodeKey, type ApiClient } from '../client.js';
import { CliError, EXIT } from '../errors.js';
import { defaultHolderId } from '../holder-id.js';
import { clientFor } from '../program.js';
import { exitCodeOf, startCommand, type Command } from '../run/child.js';
import { Heartbeat } from '../run/heartbeat.js';
import { durationOption, ttlOption, waitOption } from './lock.js';

interface RunOptions {
  ttl: number;
  message: string;
  wait?: number;
  grace: number;
  holderId?: string;
}

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const say = (line: string) => process.stderr.write(`stacklock: ${line}\n`);

export function registerRun(program: Commander): void {
  program
    .command('run <key> <command...>')
    .description(
      'run a command while holding the lock on <key>: renews the lease every third of the TTL, releases it when the command ends, and exits with the command\'s exit code (3 if the lease was lost)',
    )
    .requiredOption('--ttl <ttl>', '(required) lease length, renewed every third of it while the command runs: 90s, 2m...', ttlOption)
    .option('--message <message>', 'shown to anyone the lock blocks', '')
    .option('--wait <duration>', 'when held, wait in line up to this long (first come, first served)', waitOption)
    .addOption(
      new Option('--grace <duration>', 'after a lost lease, how long the command has between SIGTERM and SIGKILL')
        .argParser(durationOption('grace period'))
        .default(10_000, '10s'),
    )
    .option('--holder-id <id>', 'who holds it (default: a fresh id for this run)')
    .addHelpText(
      'after',
      `
Put the command after "--" when it has options of its own:
  stacklock run acme/infra/prod/vpc --ttl 2m --message "apply #42" --wait 30m -- terraform apply -auto-approve

The command gets STACKLOCK_FENCING_TOKEN (the grant's fencing token), STACKLOCK_LOCK_KEY and
STACKLOCK_HOLDER_ID. SIGINT, SIGTERM and SIGHUP are passed on to it. If the lease is lost (the
server refused a renewal, or none succeeded before the lease ran out), the command gets SIGTERM,
then SIGKILL after the grace period, and run exits 3. A run killed with SIGKILL cannot release:
its lease simply expires after the TTL, which is why the TTL can be short.`,
    )
    .action(async (key: string, argv: string[], opts: RunOptions, cmd: Commander) => {
      process.exitCode = await runLocked(clientFor(cmd), key, argv, opts);
    });
}

async function runLocked(client: ApiClient, key: string, argv: string[], opts: RunOptions): Promise<number> {
  if (argv.length === 0) throw new CliError('no command given: stacklock run <key> --ttl <ttl> -- <command...>', EXIT.usage);
  // A fresh holder per run: two runs of one CI job must never both believe they hold the lock.
  const holderId = opts.holderId ?? `${defaultHolderId()}/run-${randomBytes(4).toString('hex')}`;

  // Until the command runs, a signal abandons the wait (closing the request leaves the line).
  const abandon = new AbortController();
  let interruptedBy: NodeJS.Signals | null = null;
  const onSignalWhileWaiting = (sig: NodeJS.Signals) => {
    interruptedBy = sig;
    abandon.abort();
  };
  for (const sig of FORWARDED) process.on(sig, onSignalWhileWaiting);
  let lock;
  let validUntil: number;
  try {
    ({ data: lock, validUntil } = await acquireLock(client, {
      key, ttlMs: opts.ttl, message: opts.message, holderId, waitMs: opts.wait ?? 0, signal: abandon.signal,
      progress: (line) => say(line),
    }));
  } catch (error) {
    if (interruptedBy) {
      say(`interrupted (${interruptedBy}) while waiting for '${key}'; left the line`);
      return exitCodeOf({ code: null, signal: interruptedBy });
    }
    throw error;
  } finally {
    for (const sig of FORWARDED) process.off(sig, onSignalWhileWaiting);
  }
  if (interruptedBy) {
    // The grant and the signal crossed: give the lock back before leaving.
    await release(client, key, holderId);
    return exitCodeOf({ code: null, signal: interruptedBy });
  }

  say(`locked '${key}' (fencing token ${lock.token}, lease ${formatDuration(opts.ttl)} renewed every ${formatDuration(Math.round(opts.ttl / 3))}); running: ${argv.join(' ')}`);
  let command: Command;
  try {
    command = await startCommand(argv, { ...process.env, STACKLOCK_FENCING_TOKEN: String(lock.token), STACKLOCK_LOCK_KEY: key, STACKLOCK_HOLDER_ID: holderId });
  } catch (error) {
    await release(client, key, holderId);
    say((error as Error).message);
    return (error as { exitCode?: number }).exitCode ?? 1;
  }

  let lostWhy: string | null = null;
  let killTimer: NodeJS.Timeout | null = null;
  const heartbeat = new Heartbeat(client, key, lock.token, opts.ttl, (why) => {
    lostWhy = why;
    say(`LOST the lock on '${key}': ${why}. Stopping the command: SIGTERM now, SIGKILL in ${formatDuration(opts.grace)} if it is still running`);
    command.signal('SIGTERM');
    killTimer = setTimeout(() => command.signal('SIGKILL'), opts.grace);
  });
  const forward = (sig: NodeJS.Signals) => command.signal(sig);
  for (const sig of FORWARDED) process.on(sig, forward);
  heartbeat.start(validUntil);

  const exit = await command.exited;
  heartbeat.stop();
  if (killTimer) clearTimeout(killTimer);
  for (const sig of FORWARDED) process.off(sig, forward);
  await release(client, key, holderId);
  if (lostWhy) {
    say(`the command ran without the lock after it was lost; exiting 3 (the command's own exit was ${exitCodeOf(exit)})`);
    return EXIT.held;
  }
  return exitCodeOf(exit);
}

/** Gives the lock back; our own holder id only, so a lock already handed to someone else is never touched. */
async function release(client: ApiClient, key: string, holderId: string): Promise<void> {
  try {
    await client.request('DELETE', `/api/v1/locks/${encodeKey(key)}?holderId=${encodeURIComponent(holderId)}`, undefined, {
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    if (error instanceof CliError && (error.tag === 'LockNotFound' || error.tag === 'NotLockHolder')) return;
    say(`could not release '${key}' (${(error as Error).message}); it expires on its own at the end of its lease`);
  }
}
