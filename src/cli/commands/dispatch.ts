import type { Command } from 'commander';
import type { DispatchView } from '../../core/dispatch-view.js';
import type { ApiClient } from '../client.js';
import { CliError, EXIT } from '../errors.js';
import { printJson } from '../output.js';
import { clientFor } from '../program.js';

export function registerDispatch(program: Command): void {
  const dispatch = program.command('dispatch').description('one workflow dispatch');
  dispatch
    .command('cancel <id>')
    .description('cancel a dispatch that is still waiting for its lock (needs dispatches:write); <id> may be the short id `stacklock dispatches` shows')
    .option('--reason <reason>', 'why, recorded with it and shown on the pull request')
    .option('--json', 'print the cancelled dispatch as JSON')
    .action(async (given: string, opts: { reason?: string; json?: boolean }, cmd: Command) => {
      const client = clientFor(cmd);
      const id = await fullId(client, given);
      const { data } = await client.request<DispatchView>('POST', `/api/v1/dispatches/${encodeURIComponent(id)}/cancel`, {
        ...(opts.reason ? { reason: opts.reason } : {}),
      });
      if (opts.json) return printJson(data);
      process.stdout.write(`Cancelled dispatch ${data.id} (${data.repository} ${data.workflow} for '${data.key}')\n`);
    });
}

const FULL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** How many of the newest dispatches a short id is looked up among. */
const LOOKUP = 1000;

/** The dispatch a short id (a prefix of at least 6 characters, as `stacklock dispatches` shows) names. */
async function fullId(client: ApiClient, given: string): Promise<string> {
  if (FULL_ID.test(given)) return given;
  if (!/^[0-9a-f-]{6,}$/i.test(given)) {
    throw new CliError(`'${given}' is not a dispatch id: give the id, or at least its first 6 characters, as stacklock dispatches shows it`, EXIT.usage);
  }
  const { data } = await client.request<{ dispatches: DispatchView[] }>('GET', `/api/v1/dispatches?limit=${LOOKUP}`);
  const matches = data.dispatches.filter((d) => d.id.toLowerCase().startsWith(given.toLowerCase()));
  if (matches.length === 1) return matches[0]!.id;
  if (matches.length === 0) throw new CliError(`no dispatch id starts with '${given}' among the newest ${LOOKUP}: give the full id`, EXIT.usage);
  throw new CliError(`'${given}' is ambiguous: ${matches.map((d) => d.id).join(', ')}; give more characters`, EXIT.usage);
}
