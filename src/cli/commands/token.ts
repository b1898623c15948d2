import type { Command } from 'commander';
import { SCOPES, isScope } from '../../core/types.js';
import { CliError, EXIT } from '../errors.js';
import { clientFor } from '../program.js';

export function registerToken(program: Command): void {
  const token = program.command('token').description('API tokens');
  token
    .command('create')
    .description('create an API token (needs admin); prints only the token, which is shown this once')
    .requiredOption('--name <name>', 'a name to recognise it by; locks taken with it show token:<name> as holder')
    .option('--scopes <scopes>', 'comma-separated: locks:write, locks:force, dispatches:write, admin', 'locks:write')
    .option('--workspace <workspace>', "workspace name or id (default: your token's; another needs the server admin)")
    .action(async (opts: { name: string; scopes: string; workspace?: string }, cmd: Command) => {
      const scopes = opts.scopes.split(',').map((s) => s.trim()).filter(Boolean);
      const bad = scopes.filter((s) => !isScope(s));
      if (bad.length > 0) throw new CliError(`unknown scope(s): ${bad.join(', ')}; use ${SCOPES.join(', ')}`, EXIT.usage);
      const { data } = await clientFor(cmd).request<{ token: string }>('POST', '/api/v1/tokens', {
        name: opts.name,
        scopes,
        ...(opts.workspace ? { workspace: opts.workspace } : {}),
      });
      process.stdout.write(data.token + '\n');
    });
}
