import type pg from 'pg';
import type { PullRequestFacts } from '../../core/atmos-plan.js';
import type { GitHubEventStore } from '../../core/ports/github-events.js';
import { NOW } from './lock-queries.js';
import { guarded } from './pool.js';

/** The GitHub event port on PostgreSQL. */
export class PostgresGitHubEvents implements GitHubEventStore {
  constructor(private readonly pool: pg.Pool) {}

  async recordPullRequest(f: PullRequestFacts): Promise<boolean> {
    const rows = await this.all(
      `INSERT INTO github_pr_events (delivery_id, repository_key, head_sha, facts, received_at)
       VALUES ($1, lower($2), $3, $4::jsonb, ${NOW}) ON CONFLICT (delivery_id) DO NOTHING RETURNING delivery_id`,
      [f.deliveryId, f.repository, f.headSha, JSON.stringify(f)],
    );
    return rows.length === 1;
  }

  async pullRequestsFor(repository: string, headSha: string): Promise<PullRequestFacts[]> {
    const rows = await this.all<{ facts: PullRequestFacts }>(
      'SELECT facts FROM github_pr_events WHERE repository_key = lower($1) AND head_sha = $2 ORDER BY received_at, delivery_id',
      [repository, headSha],
    );
    return rows.map((r) => r.facts);
  }

  async pullRequestsSince(since: Date, limit: number): Promise<PullRequestFacts[]> {
    const rows = await this.all<{ facts: PullRequestFacts }>(
      'SELECT facts FROM github_pr_events WHERE received_at >= $1 ORDER BY received_at, delivery_id LIMIT $2',
      [since, limit],
    );
    return rows.map((r) => r.facts);
  }

  async purgePullRequests(before: Date, limit: number): Promise<number> {
    const rows = await this.all(
      `DELETE FROM github_pr_events WHERE delivery_id IN (SELECT delivery_id FROM github_pr_events WHERE received_at < $1 LIMIT $2) RETURNING 1`,
      [before, limit],
    );
    return rows.length;
  }

  private async all<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[]): Promise<R[]> {
    return guarded(async () => (await this.pool.query<R>(sql, params)).rows);
  }
}
