import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * The CLI always sends a holderId (SPEC rule 1), so two runs sharing one token never both
 * believe they hold a lock. In GitHub Actions it names the job attempt, so a retried step of
 * the same job renews instead of being refused; elsewhere it is unique to this invocation.
 */
export function defaultHolderId(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GITHUB_ACTIONS === 'true' && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID) {
    return `${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}/attempts/${env.GITHUB_RUN_ATTEMPT ?? '1'}/${env.GITHUB_JOB ?? 'job'}`;
  }
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}
