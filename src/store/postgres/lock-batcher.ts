interface Pending<R> {
  readonly op: object;
  readonly resolve: (row: R | null) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit for PostgreSQL's lock operations. Operations go out together at the end of the
 * event loop's turn in which they arrived when no batch is running; otherwise they wait, and the
 * operations waiting go together in the next batch: one statement (stacklock_apply), one
 * transaction, one commit for all. Waiting for the end of the turn puts every request read in it
 * into one batch, and lets the answers of a batch that just committed be written before the next
 * batch wakes the database, whose backend, woken, takes the CPU from this process on a busy
 * machine (measured side by side, docs/performance.md: batches of 18.7 operations instead of 14.3
 * at 50 connections). While a batch runs, another
 * starts beside it (up to `maxInFlight`) only once `minBatchWhileBusy` operations wait: a batch
 * has a fixed cost, so a small one is better left to gather more. Each caller is answered with its
 * own row (or null) once that commit returned.
 *
 * A batch that fails as a whole because the database refused it (a deadlock between two batches,
 * say) rolled back: `retryAlone` says so, and each of its operations then runs again on its own,
 * so one operation's failure reaches only its caller. Any other failure (the database unreachable,
 * the outcome of the commit unknown) reaches every caller of the batch, as it would have one by one.
 */
export class LockBatcher<R extends { i: number }> {
  private queue: Array<Pending<R>> = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly send: (ops: readonly object[]) => Promise<R[]>,
    private readonly retryAlone: (error: unknown) => boolean,
    private readonly maxInFlight = 4,
    private readonly maxBatch = 100,
    private readonly minBatchWhileBusy = 1,
  ) {}

  run(op: object): Promise<R | null> {
    return new Promise<R | null>((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      this.schedule();
    });
  }

  /** Pumps once this turn of the event loop has read and answered everything it had. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      if (this.inFlight > 0 && this.queue.length < this.minBatchWhileBusy) return;
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      void this.flush(batch).finally(() => {
        this.inFlight--;
        this.schedule();
      });
    }
  }

  private async flush(batch: Array<Pending<R>>): Promise<void> {
    let rows: R[];
    try {
      rows = await this.send(batch.map((p) => p.op));
    } catch (error) {
      if (batch.length > 1 && this.retryAlone(error)) {
        await Promise.all(batch.map((p) => this.flush([p])));
      } else {
        for (const p of batch) p.reject(error);
      }
      return;
    }
    // `i` numbers the ops from 1 in the order they were sent.
    const byOp = new Map(rows.map((row) => [row.i, row]));
    batch.forEach((p, k) => p.resolve(byOp.get(k + 1) ?? null));
  }
}
