/**
 * How a backend that groups writes into commits is doing: a narrow, optional port beside the
 * Store (SQLite has it; on PostgreSQL every statement is its own commit and the database
 * counts its WAL flushes itself). Feeds the metrics, so `writes / commits` is the group size.
 */
export interface CommitStats {
  /** Transactions committed (each one durable flush). */
  readonly commits: number;
  /** Writes those transactions carried. */
  readonly writes: number;
}

export interface CommitStatsSource {
  commitStats(): CommitStats;
}

export function commitStatsOf(store: object): CommitStatsSource | null {
  return typeof (store as Partial<CommitStatsSource>).commitStats === 'function' ? (store as CommitStatsSource) : null;
}
