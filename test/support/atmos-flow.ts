import { createHmac, randomUUID } from 'node:crypto';

/** Helpers that build what GitHub and atmos send in the Atmos flow. */

export const WEBHOOK_SECRET = 'whsec-test-' + 'x'.repeat(16);

/** `settings` of a stack whose pull_request actions name workflows with atmos's template inputs. */
export function proSettings(workflowsByAction: Record<string, string[]>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const pullRequest: Record<string, unknown> = {};
  for (const [action, files] of Object.entries(workflowsByAction)) {
    pullRequest[action] = {
      workflows: Object.fromEntries(files.map((f) => [f, { inputs: { component: '{{ .atmos_component }}', stack: '{{.atmos_stack}}' } }])),
    };
  }
  return { pro: { enabled: true, pull_request: pullRequest, ...extra } };
}

export function affected(component: string, stack: string, settings: Record<string, unknown> | null, dependents: object[] = []): Record<string, unknown> {
  return { component, stack, included_in_dependents: false, dependents, settings };
}

export function upload(headSha: string, stacks: object[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { head_sha: headSha, base_sha: 'b'.repeat(40), repo_url: 'https://github.com/acme/infra', repo_name: 'infra', repo_owner: 'acme', repo_host: 'github.com', stacks, ...extra };
}

export interface PullRequestEvent {
  readonly delivery: string;
  readonly body: string;
  readonly headers: Record<string, string>;
}

/** A `pull_request` delivery as GitHub sends it, signed with `secret`. */
export function pullRequestEvent(
  action: string,
  headSha: string,
  options: { number?: number; merged?: boolean; secret?: string; delivery?: string; mergeCommitSha?: string } = {},
): PullRequestEvent {
  const payload = {
    action,
    number: options.number ?? 7,
    pull_request: {
      number: options.number ?? 7,
      merged: options.merged ?? false,
      merge_commit_sha: options.mergeCommitSha ?? null,
      head: { sha: headSha, ref: 'feature/vpc', repo: { full_name: 'acme/infra' } },
      base: { ref: 'main', repo: { full_name: 'acme/infra' } },
    },
    repository: { full_name: 'acme/infra' },
    installation: { id: 777 },
  };
  const body = JSON.stringify(payload);
  const delivery = options.delivery ?? randomUUID();
  const signature = 'sha256=' + createHmac('sha256', options.secret ?? WEBHOOK_SECRET).update(body).digest('hex');
  return {
    delivery,
    body,
    headers: { 'content-type': 'application/json', 'x-github-event': 'pull_request', 'x-github-delivery': delivery, 'x-hub-signature-256': signature, 'user-agent': 'GitHub-Hookshot/abc' },
  };
}
