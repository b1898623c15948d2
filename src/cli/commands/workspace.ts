import type { Command } from 'commander';
import { printJson, table } from '../output.js';
import { clientFor } from '../program.js';

interface WorkspaceView {
  id: string;
  name: string;
  createdAt: string;
}

export function registerWorkspace(program: Command): void {
  const workspace = program.command('workspace').description('workspaces: tenants with their own locks, tokens, repositories and events');
  workspace
    .command('create <name>')
    .description("create a workspace (server admin: a token with admin in 'default'); prints its id, which atmos calls ATMOS_PRO_WORKSPACE_ID")
    .option('--json', 'print the workspace as JSON')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      const { data } = await clientFor(cmd).request<WorkspaceView>('POST', '/api/v1/workspaces', { name });
      if (opts.json) return printJson(data);
      process.stdout.write(`${data.id}\n`);
    });
  workspace
    .command('list')
    .description("the workspaces you can see: all for the server admin, your token's own otherwise")
    .option('--json', 'print a JSON array')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { data } = await clientFor(cmd).request<{ workspaces: WorkspaceView[] }>('GET', '/api/v1/workspaces');
      if (opts.json) return printJson(data.workspaces);
      process.stdout.write(table(['NAME', 'ID', 'CREATED'], data.workspaces.map((w) => [w.name, w.id, w.createdAt])) + '\n');
    });
}
