import type { Database, Transaction } from 'better-sqlite3';

interface Pending<T> {
  readonly work: () => T;
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit: writes that arrive while the event loop is busy are applied together in one
 * transaction (each in its own savepoint, so one failing write does not undo the others),
 * then committed once. With `synchronous=FULL` that commit is one fsync for the whole group.
 * Every caller is answered only after the commit holding its change returned, i.e. is durable.
 * `afterCommit` callbacks registered during the group run once the commit is durable.
 */
export class GroupCommitter {
  private queue: Pending<unknown>[] = [];
  private scheduled = false;
  private afterCommit: Array<() => void> = [];
  private readonly inSavepoint: (work: () => unknown) => unknown;
  /** Committed groups and the writes they carried (metrics: writes per commit is the group size). */
  private committed = { commits: 0, writes: 0 };
  private readonly inGroup: Transaction<(batch: Pending<unknown>[]) => Array<{ ok: boolean; value: unknown }>>;

  constructor(private readonly db: Database) {
    this.inSavepoint = db.transaction((work: () => unknown) => work());
    this.inGroup = db.transaction((batch: Pending<unknown>[]) =>
      batch.map((p) => {
        try {
          return { ok: true, value: this.inSavepoint(p.work) };
        } catch (error) {
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
    let results: Array<{ ok: boolean; value: unknown }>;
    try {
      // IMMEDIATE: take the write lock at BEGIN, so another process cannot interleave.
      results = this.inGroup.immediate(batch);
    } catch (error) {
      this.afterCommit = [];
      for (const p of batch) p.reject(error);
      return;
    }
    this.committed.commits++;
    this.committed.writes += batch.length;
    const hooks = this.afterCommit;
    this.afterCommit = [];
    batch.forEach((p, i) => {
      const r = results[i] as { ok: boolean; value: unknown };
      if (r.ok) p.resolve(r.value);
      else p.reject(r.value);
    });
    for (const hook of hooks) hook();
  }
}
