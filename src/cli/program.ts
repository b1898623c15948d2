import { Command } from 'commander';
import { ApiClient, resolveClientOptions, type GlobalFlags } from './client.js';

export const EXIT_CODES_HELP = `
Exit codes:
  0  done (unlocking a key that is not locked only warns)
  2  bad usage or input
  3  the lock is held by someone else (stderr says who, their message, and when it expires),
     or, for run, the lease was lost while the command ran (run otherwise exits with its command's code)
  4  not permitted (missing or invalid token, or a missing permission)
  5  server unreachable or failing

Environment:
  STACKLOCK_URL          server address (default: the one \`stacklock login\` saved, or http://127.0.0.1:8080)
  STACKLOCK_TOKEN        API token (default: the admin-token of --data-dir, then the token
                         \`stacklock login\` saved for the URL, then, for a loopback URL only,
                         the admin-token in STACKLOCK_DATA_DIR or ./data)
  STACKLOCK_DATA_DIR     the data dir of a server on this machine (its admin token goes only to loopback)
  STACKLOCK_GITHUB_OIDC  true: in GitHub Actions, log in as the repository with the job's OIDC token
                         (needs permissions: id-token: write); STACKLOCK_WORKSPACE and
                         STACKLOCK_OIDC_AUDIENCE say where and for which audience
`;

/** The client for a command, built from the program's global flags and the environment. */
export function clientFor(cmd: Command): ApiClient {
  return new ApiClient(resolveClientOptions(cmd.optsWithGlobals<GlobalFlags>()));
}
