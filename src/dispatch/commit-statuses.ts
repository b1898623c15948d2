import { clipForGitHub, commitStatusFor, statusContext, STATUS_DESCRIPTION_MAX, type CommitStatus } from '../core/dispatch-rules.js';
import { TERMINAL_STATES, type Dispatch } from '../core/dispatch.js';
import type { DispatchStore } from '../core/ports/dispatches.js';
import type { GitHubApi } from './github-client.js';

export interface StatusLog {
  warn(obj: object, msg: string): void;
}

const same = (a: CommitStatus | undefined, b: CommitStatus) => a?.state === b.state && a.description === b.description;

/**
 * Keeps the `stacklock/<key>` commit status of a pull request's head commit in step with its
 * dispatch. Posts for one dispatch run one after another, each posting what the row says *now*
 * (re-read from the store), and re-check after posting: so a slow "pending" can never land after
 * "success" and stay there, even when another replica posted the success.
 * Best effort: a status that cannot be posted is logged, and never holds up a dispatch.
 */
export class CommitStatuses {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly posted = new Map<string, CommitStatus>();

  constructor(
    private readonly store: DispatchStore,
    private readonly github: GitHubApi,
    private readonly log: StatusLog,
  ) {}

  /** Brings the commit status of this dispatch up to date, in the background. */
  sync(d: Dispatch): void {
    if (!d.headSha || !this.github.configured) return;
    const previous = this.chains.get(d.id) ?? Promise.resolve();
    const next = previous.then(() => this.converge(d)).catch((error) =>
      this.log.warn({ err: error, dispatchId: d.id, key: d.key }, `could not post the commit status of dispatch ${d.id}`),
    );
    this.chains.set(d.id, next);
    void next.finally(() => {
      if (this.chains.get(d.id) === next) this.chains.delete(d.id);
    });
  }

  /**
   * A failure status for a dispatch that was never queued because GitHub would refuse it (its
   * key's context on `sha` says why), in the background: otherwise the pull request would show
   * nothing for that stack.
   */
  refused(repository: string, sha: string, key: string, why: string): void {
    if (!this.github.configured) return;
    const id = `refused\u0000${repository}\u0000${sha}\u0000${key}`;
    const status: CommitStatus = { state: 'failure', context: statusContext(key), description: clipForGitHub(`Not dispatched: ${why}`, STATUS_DESCRIPTION_MAX) };
    const previous = this.chains.get(id) ?? Promise.resolve();
    const next = previous
      .then(() => this.github.createCommitStatus(repository, sha, status))
      .catch((error) => this.log.warn({ err: error, repository, key }, `could not post the failure status of a refused dispatch for '${key}'`));
    this.chains.set(id, next);
    void next.finally(() => {
      if (this.chains.get(id) === next) this.chains.delete(id);
    });
  }

  /** Resolves when every status queued so far was posted (or given up on). */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()]);
  }

  private async converge(snapshot: Dispatch): Promise<void> {
    for (let round = 0; round < 3; round++) {
      const d = (await this.store.get(snapshot.workspaceId, snapshot.id)) ?? snapshot;
      // "dispatching" lasts a moment; the answer it leads to is posted next.
      if (d.state === 'dispatching') return;
      const want = commitStatusFor(d);
      if (same(this.posted.get(d.id), want)) return;
      await this.github.createCommitStatus(d.repository, d.headSha as string, want);
      if (TERMINAL_STATES.has(d.state)) {
        this.posted.delete(d.id);
        return;
      }
      this.posted.set(d.id, want);
    }
  }
}
