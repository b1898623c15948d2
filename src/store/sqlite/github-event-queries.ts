import type { PullRequestFacts } from '../../core/atmos-plan.js';
import type { GitHubEventStore } from '../../core/ports/github-events.js';
import type { SqliteContext } from './access-queries.js';

/** The GitHub event port on SQLite. */
export class SqliteGitHubEvents implements GitHubEventStore {
  private readonly stmt;

  constructor(private readonly c: SqliteContext) {
    const db = c.db;
    this.stmt = {
      insert: db.prepare<[string, string, string, string, number]>(
        'INSERT INTO github_pr_events (delivery_id, repository_key, head_sha, facts, received_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (delivery_id) DO NOTHING',
      ),
      forCommit: db.prepare<[string, string], { facts: string }>(
        'SELECT facts FROM github_pr_events WHERE repository_key = ? AND head_sha = ? ORDER BY received_at, delivery_id',
      ),
      since: db.prepare<[number, number], { facts: string }>(
        'SELECT facts FROM github_pr_events WHERE received_at >= ? ORDER BY received_at, delivery_id LIMIT ?',
      ),
      purge: db.prepare<[number, number]>(
        'DELETE FROM github_pr_events WHERE delivery_id IN (SELECT delivery_id FROM github_pr_events WHERE received_at < ? LIMIT ?)',
      ),
    };
  }

  recordPullRequest(f: PullRequestFacts): Promise<boolean> {
    return this.c.writes.run(
      () => this.stmt.insert.run(f.deliveryId, f.repository.toLowerCase(), f.headSha, JSON.stringify(f), this.c.clock.now().getTime()).changes === 1,
    );
  }

  async pullRequestsFor(repository: string, headSha: string): Promise<PullRequestFacts[]> {
    return this.stmt.forCommit.all(repository.toLowerCase(), headSha).map((r) => JSON.parse(r.facts) as PullRequestFacts);
  }

  async pullRequestsSince(since: Date, limit: number): Promise<PullRequestFacts[]> {
    return this.stmt.since.all(since.getTime(), limit).map((r) => JSON.parse(r.facts) as PullRequestFacts);
  }

  purgePullRequests(before: Date, limit: number): Promise<number> {
    return this.c.writes.run(() => this.stmt.purge.run(before.getTime(), limit).changes);
  }
}
