import type { Command } from 'commander';
import { CliError, EXIT } from '../errors.js';
import { printJson, table } from '../output.js';
import { clientFor } from '../program.js';
import { queryString } from '../client.js';

interface PermissionView {
  repository: string;
  keys: string[];
  force: boolean;
  allowedBy: string;
}

/** `owner/repo` → `/api/v1/repos/owner/repo`, refusing anything else before asking the server. */
function repoPath(repository: string): string {
  const parts = repository.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1]) throw new CliError(`'${repository}' is not a GitHub repository: use owner/repo`, EXIT.usage);
  return `/api/v1/repos/${parts.map(encodeURIComponent).join('/')}`;
}

const workspaceQuery = (workspace: string | undefined) => queryString({ workspace });

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerRepo(program: Command): void {
  const repo = program.command('repo').description('GitHub repositories whose Actions OIDC tokens (atmos) may log in to a workspace');
  repo
    .command('allow <owner/repo>')
    .description('allow a repository in a workspace, or change what it may do (needs admin there)')
    .option('--workspace <workspace>', "workspace name or id (default: your token's)")
    .option('--keys <glob>', 'a key glob it may lock (repeatable; ** spans "/", * and ? do not; default <owner>/<repo>/**)', collect)
    .option('--force', 'it may also force-release locks on those keys (atmos pro unlock of another run\'s lock)')
    .option('--json', 'print the permission as JSON')
    .action(async (repository: string, opts: { workspace?: string; keys?: string[]; force?: boolean; json?: boolean }, cmd: Command) => {
      const { data } = await clientFor(cmd).request<PermissionView>('PUT', repoPath(repository) + workspaceQuery(opts.workspace), {
        ...(opts.keys ? { keys: opts.keys } : {}),
        force: opts.force === true,
      });
      if (opts.json) return printJson(data);
      const force = data.force ? ', and may force-release them' : '';
      process.stdout.write(`Allowed ${data.repository}: may lock ${data.keys.join(', ')}${force}\n`);
    });
  repo
    .command('list')
    .description('the repositories allowed in a workspace')
    .option('--workspace <workspace>', "workspace name or id (default: your token's)")
    .option('--json', 'print a JSON array')
    .action(async (opts: { workspace?: string; json?: boolean }, cmd: Command) => {
      const { data } = await clientFor(cmd).request<{ repositories: PermissionView[] }>('GET', `/api/v1/repos${workspaceQuery(opts.workspace)}`);
      if (opts.json) return printJson(data.repositories);
      if (data.repositories.length === 0) return void process.stdout.write('no repositories allowed\n');
      process.stdout.write(
        table(['REPOSITORY', 'KEYS', 'FORCE', 'ALLOWED BY'], data.repositories.map((p) => [p.repository, p.keys.join(' '), p.force ? 'yes' : 'no', p.allowedBy])) + '\n',
      );
    });
  repo
    .command('revoke <owner/repo>')
    .description('revoke a repository: its sessions stop working at once')
    .option('--workspace <workspace>', "workspace name or id (default: your token's)")
    .action(async (repository: string, opts: { workspace?: string }, cmd: Command) => {
      await clientFor(cmd).request('DELETE', repoPath(repository) + workspaceQuery(opts.workspace));
      process.stdout.write(`Revoked ${repository}\n`);
    });
}
