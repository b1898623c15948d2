/**
 * One client operation as the client saw it. Times are the client's clock (Date.now(); the
 * replicas and PostgreSQL run on the same machine, so the database's `now()` is the same clock).
 * - ok: the server answered success.
 * - refused: the server answered a definite no (409 LockHeld, 404, 403): nothing changed.
 * - fail: the request never reached a server (connection refused): nothing changed.
 * - unknown: no answer in time, a dropped connection, or a 5xx: it may or may not have happened.
 */
export type Outcome = 'ok' | 'refused' | 'fail' | 'unknown';

export interface Op {
  readonly id: number;
  readonly client: number;
  readonly kind: 'acquire' | 'release';
  readonly key: string;
  readonly holderId: string;
  readonly replica: number;
  readonly invoke: number;
  complete: number;
  outcome: Outcome;
  /** acquire ok: 'granted' (201) or 'renewed' (200). */
  grant?: 'granted' | 'renewed';
  /** acquire ok: the fencing token and expiry of the grant. */
  token?: number;
  expiresAt?: number;
  /** acquire refused: who holds the key, as the refusal said. */
  heldBy?: { holderId: string | null; token: number; expiresAt: number };
  detail?: string;
}

/** A log of operations, appended by the clients. */
export class History {
  readonly ops: Op[] = [];
  private next = 0;

  invoke(op: Omit<Op, 'id' | 'invoke' | 'complete' | 'outcome'>): Op {
    const full: Op = { ...op, id: this.next++, invoke: Date.now(), complete: Number.NaN, outcome: 'unknown' };
    this.ops.push(full);
    return full;
  }

  complete(op: Op, outcome: Outcome, extra: Partial<Op> = {}): Op {
    Object.assign(op, extra, { outcome, complete: Date.now() });
    return op;
  }
}
