import type { Database, Transaction } from 'better-sqlite3';

interface Pending<T> {
  readonly work: () => T;
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { ok: boolean; value: unknown };

/** A write of the group threw: everything the group did so far is rolled back with it. */
class WriteFailed {
  constructor(readonly error: unknown) {}
}

/**
 * Group commit: writes that arrive while the event loop is busy are applied together in one
 * transaction, then committed once. With `synchronous=FULL` that commit is one fsync for the whole
 * group. Every caller is answered only after the commit holding its change returned, i.e. is
 * durable. `afterCommit` callbacks registered during the group run once the commit is durable.
 *
 * A write that throws must not undo the others. The group is first applied with no savepoints
 * (a savepoint per write costs two statements and a copy of every page it touches); if one write
 * throws, the whole transaction rolls back and the group is applied again with each write in its
 * own savepoint, so the one that fails fails alone. Writes are closures over the database only
 * (their `onCommit` callbacks are dropped with the rolled-back attempt), so running one twice is
 * the same as running it once.
 */
export class GroupCommitter {
  private queue: Pending<unknown>[] = [];
  private scheduled = false;
  private afterCommit: Array<() => void> = [];
  /** Committed groups and the writes they carried (metrics: writes per commit is the group size). */
  private committed = { commits: 0, writes: 0 };
  private readonly together: Transaction<(batch: Pending<unknown>[]) => Outcome[]>;
  private readonly apart: Transaction<(batch: Pending<unknown>[]) => Outcome[]>;

  constructor(db: Database) {
    this.together = db.transaction((batch: Pending<unknown>[]) =>
      batch.map((p) => {
        try {
          return { ok: true, value: p.work() };
        } catch (error) {
          throw new WriteFailed(error);
        }
      }),
    );
    const inSavepoint = db.transaction((work: () => unknown) => work());
    this.apart = db.transaction((batch: Pending<unknown>[]) =>
      batch.map((p) => {
        const hooks = this.afterCommit.length;
        try {
          return { ok: true, value: inSavepoint(p.work) };
        } catch (error) {
          this.afterCommit.length = hooks; // the failed write's callbacks go with its changes
          return { ok: false, value: error };
        }
      }),
    );
  }

  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve, reject } as Pending<unknown>);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  stats(): { commits: number; writes: number } {
    return { ...this.committed };
  }

  /** Runs `fn` after the current group's commit. Call only from inside `run` work. */
  onCommit(fn: () => void): void {
    this.afterCommit.push(fn);
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    this.afterCommit = [];
    let results: Outcome[];
    try {
      results = this.apply(batch);
    } catch (error) {
      // BEGIN or COMMIT failed: nothing of the group is on disk.
      this.afterCommit = [];
      for (const p of batch) p.reject(error);
      return;
    }
    this.committed.commits++;
    this.committed.writes += batch.length;
    const hooks = this.afterCommit;
    this.afterCommit = [];
    batch.forEach((p, i) => {
      const r = results[i] as Outcome;
      if (r.ok) p.resolve(r.value);
      else p.reject(r.value);
    });
    for (const hook of hooks) hook();
  }

  /** IMMEDIATE: the write lock is taken at BEGIN, so another process cannot interleave. */
  private apply(batch: Pending<unknown>[]): Outcome[] {
    try {
      return this.together.immediate(batch);
    } catch (error) {
      if (!(error instanceof WriteFailed)) throw error;
      this.afterCommit = [];
      if (batch.length === 1) return [{ ok: false, value: error.error }];
      return this.apart.immediate(batch);
    }
  }
}
