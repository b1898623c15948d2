import type { PullRequestFacts } from '../atmos-plan.js';

/**
 * The storage port for GitHub webhooks kept for the Atmos flow: a `pull_request` event waits
 * here for the affected-stacks upload of its head commit (whichever arrives first waits for the
 * other). Implemented by every backend.
 */
export interface GitHubEventStore {
  /** Keeps an event once per delivery; false when this delivery was kept before (a redelivery). */
  recordPullRequest(facts: PullRequestFacts): Promise<boolean>;
  /** The events of a repository's commit (case-insensitive), oldest first. */
  pullRequestsFor(repository: string, headSha: string): Promise<PullRequestFacts[]>;
  /** Events received at or after `since` on the store's clock, oldest first (to resume after a restart). */
  pullRequestsSince(since: Date, limit: number): Promise<PullRequestFacts[]>;
  /** Deletes events received before `before`; returns how many. */
  purgePullRequests(before: Date, limit: number): Promise<number>;
}
