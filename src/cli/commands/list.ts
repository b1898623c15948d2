import type { Command } from 'commander';
import type { LockView } from '../../core/lock-view.js';
import { CliError, EXIT } from '../errors.js';
import { holderText, printJson, remaining, table, truncate, truncateMiddle } from '../output.js';

/** Keys may be 512 characters: the column stays readable (--json has them whole). */
const KEY_WIDTH = 60;
import { clientFor } from '../program.js';

export function registerList(program: Command): void {
  program
    .command('list')
    .description('the live locks, in key order')
    .option('--prefix <prefix>', 'only keys that start with this')
    .option('--limit <n>', 'at most this many (default: all)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new CliError(`--limit must be a positive whole number`, EXIT.usage);
      return n;
    })
    .option('--json', 'print a JSON array')
    .action(async (opts: { prefix?: string; limit?: number; json?: boolean }, cmd: Command) => {
      const client = clientFor(cmd);
      const locks: ListedLock[] = [];
      let cursor: string | null = null;
      do {
        const want = Math.min(1000, opts.limit ? opts.limit - locks.length : 1000);
        const q = new URLSearchParams({ limit: String(want) });
        if (opts.prefix) q.set('prefix', opts.prefix);
        if (cursor) q.set('cursor', cursor);
        const { data }: { data: { locks: ListedLock[]; nextCursor: string | null } } = await client.request('GET', `/api/v1/locks?${q}`);
        locks.push(...data.locks);
        cursor = data.nextCursor;
      } while (cursor && (!opts.limit || locks.length < opts.limit));
      if (opts.json) return printJson(locks);
      if (locks.length === 0) {
        process.stdout.write(opts.prefix ? `no locks under '${opts.prefix}'\n` : 'no locks\n');
        return;
      }
      const now = Date.now();
      process.stdout.write(
        table(
          ['KEY', 'HOLDER', 'TOKEN', 'EXPIRES', 'MESSAGE'],
          locks.map((l) => [truncateMiddle(l.key, KEY_WIDTH), holderText(l, 60), String(l.token), expiryText(l, now), truncate(l.message, 60)]),
        ) + '\n',
      );
    });
}

type ListedLock = LockView & { state?: 'held' | 'lock_delay'; availableAt?: string };

/** When it expires, or, for an expired lock still in its lock-delay, until when it blocks the key. */
function expiryText(l: ListedLock, now: number): string {
  return l.state === 'lock_delay' && l.availableAt ? `lock-delay until ${l.availableAt}` : remaining(l.expiresAt, now);
}
