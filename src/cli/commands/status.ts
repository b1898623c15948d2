import type { Command } from 'commander';
import type { LockView } from '../../core/lock-view.js';
import { encodeKey } from '../client.js';
import { CliError } from '../errors.js';
import { holderText, printJson, remaining } from '../output.js';
import { clientFor } from '../program.js';

export function registerStatus(program: Command): void {
  program
    .command('status <key>')
    .description('who holds a key, why, and until when')
    .option('--json', 'print the lock as JSON (null when free)')
    .action(async (key: string, opts: { json?: boolean }, cmd: Command) => {
      let lock: LockView;
      try {
        lock = (await clientFor(cmd).request<LockView>('GET', `/api/v1/locks/${encodeKey(key)}`)).data;
      } catch (e) {
        if (e instanceof CliError && e.tag === 'LockNotFound') {
          if (opts.json) return printJson(null);
          process.stdout.write(`'${key}' is not locked\n`);
          return;
        }
        throw e;
      }
      if (opts.json) return printJson(lock);
      const lines = [
        `'${lock.key}' is locked`,
        `  holder:    ${holderText(lock)}`,
        `  message:   ${lock.message || '(none)'}`,
        `  expires:   ${lock.expiresAt} (${remaining(lock.expiresAt)})`,
        `  acquired:  ${lock.acquiredAt}`,
        `  token:     ${lock.token}`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}
