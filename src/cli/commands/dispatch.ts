import type { Command } from 'commander';
import type { DispatchView } from '../../core/dispatch-view.js';
import { printJson } from '../output.js';
import { clientFor } from '../program.js';

export function registerDispatch(program: Command): void {
  const dispatch = program.command('dispatch').description('one workflow dispatch');
  dispatch
    .command('cancel <id>')
    .description('cancel a dispatch that is still waiting for its lock (needs dispatches:write)')
    .option('--reason <reason>', 'why, recorded with it and shown on the pull request')
    .option('--json', 'print the cancelled dispatch as JSON')
    .action(async (id: string, opts: { reason?: string; json?: boolean }, cmd: Command) => {
      const { data } = await clientFor(cmd).request<DispatchView>('POST', `/api/v1/dispatches/${encodeURIComponent(id)}/cancel`, {
        ...(opts.reason ? { reason: opts.reason } : {}),
      });
      if (opts.json) return printJson(data);
      process.stdout.write(`Cancelled dispatch ${data.id} (${data.repository} ${data.workflow} for '${data.key}')\n`);
    });
}
