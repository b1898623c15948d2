import type { Command } from 'commander';
import type { WaiterView } from '../../core/lock-view.js';
import { encodeKey } from '../client.js';
import { CliError } from '../errors.js';
import { holderText, printJson, remaining } from '../output.js';
import { clientFor } from '../program.js';
import type { KeyStatusView } from '../wait-progress.js';

export function registerStatus(program: Command): void {
  program
    .command('status <key>')
    .description('who holds a key, why, and until when, and who waits for it')
    .option('--json', 'print the lock as JSON (null when free)')
    .action(async (key: string, opts: { json?: boolean }, cmd: Command) => {
      let lock: KeyStatusView;
      try {
        lock = (await clientFor(cmd).request<KeyStatusView>('GET', `/api/v1/locks/${encodeKey(key)}`)).data;
      } catch (e) {
        if (e instanceof CliError && e.tag === 'LockNotFound') {
          if (opts.json) return printJson(null);
          const queue = (e.context?.queue as WaiterView[] | undefined) ?? [];
          process.stdout.write(`'${key}' is not locked\n${queueLines(queue)}`);
          return;
        }
        throw e;
      }
      if (opts.json) return printJson(lock);
      const delayed = lock.state === 'lock_delay';
      const lines = [
        delayed ? `'${lock.key}' expired, in lock-delay until ${lock.availableAt} (${remaining(lock.availableAt)}): nobody can take it until then` : `'${lock.key}' is locked`,
        `  holder:    ${holderText(lock)}${delayed ? ' (expired)' : ''}`,
        `  message:   ${lock.message || '(none)'}`,
        delayed ? `  expired:   ${lock.expiresAt}` : `  expires:   ${lock.expiresAt} (${remaining(lock.expiresAt)})`,
        `  acquired:  ${lock.acquiredAt}`,
        `  token:     ${lock.token}`,
      ];
      process.stdout.write(lines.join('\n') + '\n' + queueLines(lock.queue ?? []));
    });
}

/** The line of waiters under a status, first in line first; nothing when nobody waits. */
function queueLines(queue: WaiterView[]): string {
  if (queue.length === 0) return '';
  const rows = queue.map((w) => `  ${String(w.position).padStart(3)}. ${holderText(w)}${w.message ? `: "${w.message}"` : ''}, waiting since ${w.since}`);
  return `waiting in line (${queue.length}), first come, first served:\n${rows.join('\n')}\n`;
}
