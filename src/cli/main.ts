import { Command, CommanderError } from 'commander';
import { DomainError, ERRORS } from '../core/errors.js';
import { registerDispatch } from './commands/dispatch.js';
import { registerDispatches } from './commands/dispatches.js';
import { registerList } from './commands/list.js';
import { registerRepo } from './commands/repo.js';
import { registerRun } from './commands/run.js';
import { registerLock } from './commands/lock.js';
import { registerLogin } from './commands/login.js';
import { registerServer } from './commands/server.js';
import { registerStatus } from './commands/status.js';
import { registerToken } from './commands/token.js';
import { registerUnlock } from './commands/unlock.js';
import { registerWorkspace } from './commands/workspace.js';
import { CliError, EXIT } from './errors.js';
import { EXIT_CODES_HELP } from './program.js';

const program = new Command('stacklock')
  .description('Deployment locking and dispatch gating for infrastructure stacks')
  .version('0.1.0')
  .option('--url <url>', 'server address (env STACKLOCK_URL)')
  .option('--token <token>', 'API token (env STACKLOCK_TOKEN)')
  .option('--data-dir <dir>', 'the data dir of a server on this machine, whose admin token to use (env STACKLOCK_DATA_DIR, default ./data)')
  .option('--github-oidc', 'in GitHub Actions, log in as the repository with the job\'s OIDC token (env STACKLOCK_GITHUB_OIDC=true)')
  .option('--oidc-workspace <workspace>', 'with --github-oidc: the workspace to log in to (env STACKLOCK_WORKSPACE, default "default")')
  .option('--oidc-audience <audience>', 'with --github-oidc: the token audience the server expects (env STACKLOCK_OIDC_AUDIENCE, default atmos-pro.com)')
  .addHelpText('after', EXIT_CODES_HELP)
  .showHelpAfterError('(run stacklock --help for usage)')
  .exitOverride();

registerServer(program);
registerLock(program);
registerRun(program);
registerUnlock(program);
registerStatus(program);
registerList(program);
registerToken(program);
registerWorkspace(program);
registerRepo(program);
registerDispatches(program);
registerDispatch(program);
registerLogin(program);

for (const cmd of program.commands) cmd.exitOverride();

function fail(message: string, code: number): never {
  process.stderr.write(`stacklock: ${message}\n`);
  process.exit(code);
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version are successes; everything else commander rejects is bad usage.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') {
      process.exit(0);
    }
    process.exit(EXIT.usage);
  }
  if (error instanceof CliError) fail(error.message, error.exitCode);
  if (error instanceof DomainError) fail(error.message, ERRORS[error.tag].exitCode);
  fail(`unexpected error: ${(error as Error)?.stack ?? String(error)}`, EXIT.unavailable);
}
