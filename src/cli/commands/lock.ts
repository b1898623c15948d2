import { performance } from 'node:perf_hooks';
import { formatDuration } from '../../core/duration.js';
import type { Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import { DomainError } from '../../core/errors.js';
import { acquireLock } from '../acquire.js';
import type { ApiClient } from '../client.js';
import { CliError, EXIT } from '../errors.js';
import { defaultHolderId } from '../holder-id.js';
import { holderText, printJson } from '../output.js';
import { clientFor } from '../program.js';

/** A commander parser for a duration flag: a bad value is bad usage (exit 2). */
export function durationOption(what: string): (value: string) => number {
  return (value) => {
    try {
      return parseDuration(value, what);
    } catch (e) {
      throw new CliError(e instanceof DomainError ? e.message : String(e), EXIT.usage);
    }
  };
}

export const ttlOption = durationOption('TTL');
export const waitOption = durationOption('wait');

export function registerLock(program: Command): void {
  program
    .command('lock <key>')
    .description('lock a stack; exits 3 (and says who holds it, why, and until when) when someone else holds it')
    .requiredOption('--ttl <ttl>', '(required) how long the lock lives: milliseconds (30000) or 90s, 15m, 2h', ttlOption)
    .option('--message <message>', 'shown to anyone the lock blocks', '')
    .option('--holder-id <id>', 'who holds it; the same id renews the lock instead of being refused (default: this CI job, or this process)')
    .option('--wait <duration>', 'when held, wait in line up to this long (first come, first served), printing who holds it and your place', waitOption)
    .option('--json', 'print the lock as JSON')
    .action(async (key: string, opts: { ttl: number; message: string; holderId?: string; wait?: number; json?: boolean }, cmd: Command) => {
      const client: ApiClient = clientFor(cmd);
      const { status, data, validUntil } = await acquireLock(client, {
        key,
        ttlMs: opts.ttl,
        message: opts.message,
        holderId: opts.holderId ?? defaultHolderId(),
        waitMs: opts.wait ?? 0,
        progress: (line) => process.stderr.write(`${line}\n`),
      });
      if (opts.json) return printJson(data);
      const verb = status === 201 ? 'Locked' : 'Renewed';
      process.stdout.write(
        `${verb} '${data.key}' until ${data.expiresAt} (in ${formatDuration(Math.max(0, Math.round((validUntil - performance.now()) / 1000) * 1000))}), fencing token ${data.token}, holder ${holderText(data)}\n`,
      );
    });
}
