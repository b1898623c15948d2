import type { Command } from 'commander';
import type { LockView } from '../../core/lock-view.js';
import { encodeKey } from '../client.js';
import { CliError } from '../errors.js';
import { printJson } from '../output.js';
import { clientFor } from '../program.js';

export function registerUnlock(program: Command): void {
  program
    .command('unlock <key>')
    .description("release a lock; --force releases someone else's (needs locks:force). A key that is not locked only warns")
    .option('--force', "release it even if someone else holds it")
    .option('--reason <reason>', 'why: recorded in the audit event of the release')
    .option('--holder-id <id>', 'release only if held under this holder id')
    .option('--json', 'print the released lock as JSON')
    .action(async (key: string, opts: { force?: boolean; reason?: string; holderId?: string; json?: boolean }, cmd: Command) => {
      try {
        const { data } = await clientFor(cmd).request<LockView & { outcome: string }>('DELETE', `/api/v1/locks/${encodeKey(key)}`, {
          force: opts.force === true,
          ...(opts.reason ? { reason: opts.reason } : {}),
          ...(opts.holderId ? { holderId: opts.holderId } : {}),
        });
        if (opts.json) return printJson(data);
        const how = data.outcome === 'force_released' ? `Force-unlocked '${data.key}' (held by ${data.holder.principal})` : `Unlocked '${data.key}'`;
        process.stdout.write(`${how}\n`);
      } catch (e) {
        if (e instanceof CliError && e.tag === 'LockNotFound') {
          process.stderr.write(`warning: '${key}' is not locked; nothing to unlock\n`);
          if (opts.json) printJson(null);
          return;
        }
        throw e;
      }
    });
}
