import type { BlockingLock, Dispatch, DispatchInputs, DispatchSource, DispatchState } from './dispatch.js';

/** The public JSON shape of a dispatch (API, CLI, dashboard). Times are RFC 3339 strings. */
export interface DispatchView {
  id: string;
  workspaceId: string;
  key: string;
  repository: string;
  workflow: string;
  ref: string;
  inputs: DispatchInputs;
  source: DispatchSource;
  pullRequest: number | null;
  headSha: string | null;
  state: DispatchState;
  reason: string | null;
  blockedBy: BlockingLock | null;
  supersededBy: string | null;
  /** The Atmos run it belongs to, and the stacks of that run it waits to see finish. */
  runId: string | null;
  heldFor: Array<{ stack: string; component: string }> | null;
  attempts: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  waitDeadline: string;
  notBefore: string;
  dispatchedAt: string | null;
  /** Where to look on GitHub: the workflow's runs, and the pull request when known. */
  links: { workflowRuns: string; pullRequest: string | null; commit: string | null };
}

/** `https://api.github.com` → `https://github.com`; GitHub Enterprise `https://ghe/api/v3` → `https://ghe`. */
export function githubWebUrl(apiUrl: string): string {
  if (/^https:\/\/api\.github\.com\/?$/.test(apiUrl)) return 'https://github.com';
  return apiUrl.replace(/\/api\/v3\/?$/, '');
}

export function dispatchView(d: Dispatch, webUrl: string): DispatchView {
  const repo = `${webUrl}/${d.repository}`;
  return {
    id: d.id,
    workspaceId: d.workspaceId,
    key: d.key,
    repository: d.repository,
    workflow: d.workflow,
    ref: d.ref,
    inputs: d.inputs,
    source: d.source,
    pullRequest: d.pullRequest,
    headSha: d.headSha,
    state: d.state,
    reason: d.reason,
    blockedBy: d.blockedBy,
    supersededBy: d.supersededBy,
    runId: d.runId,
    heldFor: d.heldFor,
    attempts: d.attempts,
    createdBy: d.createdBy,
    createdAt: d.createdAt.toISOString(),
    updatedAt: d.updatedAt.toISOString(),
    waitDeadline: d.waitDeadline.toISOString(),
    notBefore: d.notBefore.toISOString(),
    dispatchedAt: d.dispatchedAt ? d.dispatchedAt.toISOString() : null,
    links: {
      workflowRuns: /^\d+$/.test(d.workflow) ? `${repo}/actions` : `${repo}/actions/workflows/${encodeURIComponent(d.workflow)}`,
      pullRequest: d.pullRequest ? `${repo}/pull/${d.pullRequest}` : null,
      commit: d.headSha ? `${repo}/commit/${d.headSha}` : null,
    },
  };
}
