import type { Command } from 'commander';
import { SCOPES, isScope } from '../../core/types.js';
import { CliError, EXIT } from '../errors.js';
import { printJson, table } from '../output.js';
import { clientFor } from '../program.js';
import { queryString } from '../client.js';

interface TokenView {
  name: string;
  scopes: string[];
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
}

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
  token
    .command('list')
    .description('the API tokens of your workspace (needs admin), revoked ones included; never the tokens themselves')
    .option('--workspace <workspace>', "workspace name or id (default: your token's; another needs the server admin)")
    .option('--json', 'print a JSON array')
    .action(async (opts: { workspace?: string; json?: boolean }, cmd: Command) => {
      const { data } = await clientFor(cmd).request<{ tokens: TokenView[] }>('GET', `/api/v1/tokens${queryString({ workspace: opts.workspace })}`);
      if (opts.json) return printJson(data.tokens);
      const rows = data.tokens.map((t) => [t.name, t.scopes.join(','), t.createdBy, t.createdAt, t.revokedAt ? `revoked ${t.revokedAt}` : 'live']);
      process.stdout.write(table(['NAME', 'SCOPES', 'CREATED BY', 'CREATED', 'STATE'], rows) + '\n');
    });
  token
    .command('revoke <name>')
    .description(
      'revoke an API token by name (needs admin): it stops working at once and its dashboard sessions end; locks it holds stay until released or expired. The last admin token of a workspace is refused',
    )
    .option('--reason <reason>', 'why: kept in the token.revoked audit event')
    .option('--workspace <workspace>', "workspace name or id (default: your token's; another needs the server admin)")
    .action(async (name: string, opts: { reason?: string; workspace?: string }, cmd: Command) => {
      const path = `/api/v1/tokens/${encodeURIComponent(name)}${queryString({ workspace: opts.workspace, reason: opts.reason })}`;
      const { data } = await clientFor(cmd).request<TokenView>('DELETE', path);
      process.stderr.write(`token '${data.name}' revoked at ${data.revokedAt}\n`);
    });
}
