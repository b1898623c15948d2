import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { LockChange } from '../lock-store.js';
import { CHANNEL, NOW } from './lock-queries.js';
import { connectionConfig, queryPrepared, type Prepared } from './pool.js';

const KIND_OF_ACTION: Record<string, LockChange['kind']> = {
  'lock.created': 'granted',
  'lock.renewed': 'renewed',
  'lock.deleted': 'released',
  'lock.force_deleted': 'force_released',
  'lock.expired': 'expired',
};

/**
 * How far back a sweep reads. A change's event time is its statement's start; it commits at most
 * a statement timeout (10 s, pool.ts) later, so a sweep that looks back further than that sees
 * every change committed since the previous sweep.
 */
const LOOKBACK_MS = 15_000;

export interface ChangeFeedOptions {
  readonly sweepIntervalMs: number;
  readonly log: (level: 'warn' | 'error', message: string, error?: unknown) => void;
}

/**
 * Announces changes after they committed, many per statement. `synchronous_commit=off` is safe
 * here: the transaction holds nothing but the notifications, which PostgreSQL delivers at commit;
 * losing one to a crash only leaves it to the sweep. It keeps the global notify lock, which a
 * notifying transaction holds through its commit, from being held across a WAL flush.
 */
const ANNOUNCE: Prepared = {
  name: 'stacklock_announce',
  text: `SELECT set_config('synchronous_commit', 'off', true), count(pg_notify($1, p)) FROM unnest($2::text[]) AS p`,
};

/** Payloads per announcing statement (each well under NOTIFY's 8000-byte limit). */
const ANNOUNCE_BATCH = 500;

/**
 * Tells listeners about every committed lock change, on this replica or any other:
 * - this replica's own changes as soon as their statement returns;
 * - other replicas' through LISTEN/NOTIFY: once a change's statement has returned (committed),
 *   this replica announces it, batched with the others committed meanwhile. The lock statements
 *   do not notify themselves, so that concurrent changes can share a commit (lock-queries.ts);
 * - and, as the safety net for a dropped listener connection, a periodic sweep of recent audit
 *   events. Every change carries the ids of its audit events, so each is delivered once
 *   whichever of the three paths sees it first.
 */
export class ChangeFeed {
  private readonly emitter = new EventEmitter();
  /** Event ids already delivered, with when they may be forgotten (past any sweep's window). */
  private readonly seen = new Map<number, number>();
  private listener: pg.Client | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private sweepFrom: Date | null = null;
  private sweeping: Promise<void> | null = null;
  private unannounced: string[] = [];
  private announcing: Promise<void> | null = null;
  private stopped = true;

  constructor(
    private readonly pool: pg.Pool,
    private readonly connectionString: string,
    private readonly options: ChangeFeedOptions,
  ) {
    this.emitter.setMaxListeners(0);
  }

  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.sweepFrom = (await this.pool.query<{ now: Date }>(`SELECT ${NOW} AS now`)).rows[0]?.now ?? new Date();
    await this.listen().catch((error) => {
      this.options.log('warn', 'change feed: LISTEN failed; retrying, and sweeping meanwhile', error);
      this.scheduleReconnect();
    });
    this.scheduleSweep();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.sweeping;
    await this.announcing;
    const client = this.listener;
    this.listener = null;
    await client?.end().catch(() => undefined);
  }

  subscribe(listener: (change: LockChange) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }

  /**
   * API tokens revoked on any replica, by id, told by the revoking statement's NOTIFY; null when
   * some may have been missed (the listener reconnected): forget every cached token then.
   */
  onTokenRevoked(listener: (tokenId: string | null) => void): () => void {
    this.emitter.on('token-revoked', listener);
    return () => this.emitter.off('token-revoked', listener);
  }

  /** A change this replica committed (its statement returned): delivered here, announced to the others. */
  local(eventIds: readonly number[], change: LockChange): void {
    this.deliver(eventIds, change);
    const d = change.activeDispatches === undefined ? {} : { d: change.activeDispatches };
    this.unannounced.push(JSON.stringify({ w: change.workspaceId, k: change.key, c: change.kind, t: change.token, e: eventIds, ...d }));
    this.announcing ??= this.announce();
  }

  /** While one announcement is in flight the next ones gather, so a busy replica sends few, large ones. */
  private async announce(): Promise<void> {
    try {
      while (this.unannounced.length > 0) {
        const batch = this.unannounced.splice(0, ANNOUNCE_BATCH);
        try {
          await queryPrepared(this.pool, ANNOUNCE, [CHANNEL, batch]);
        } catch (error) {
          // The other replicas find these changes at their next sweep.
          this.options.log('warn', `change feed: could not announce ${batch.length} change(s); other replicas catch up at their next sweep`, error);
        }
      }
    } finally {
      // Cleared in the same turn as the last emptiness check: a change queued after it starts a new announcer.
      this.announcing = null;
    }
  }

  /** Runs one sweep now (tests; also after the listener reconnects). */
  async sweep(): Promise<void> {
    if (this.sweeping) return this.sweeping;
    this.sweeping = this.sweepOnce().finally(() => (this.sweeping = null));
    return this.sweeping;
  }

  private deliver(eventIds: readonly number[], change: LockChange): void {
    const ids = eventIds.map(Number);
    if (ids.length > 0 && ids.every((id) => this.seen.has(id))) return;
    const forgetAt = Date.now() + 4 * LOOKBACK_MS;
    for (const id of ids) this.seen.set(id, forgetAt);
    this.emitter.emit('change', change);
  }

  private async listen(): Promise<void> {
    const client = new pg.Client(connectionConfig(this.connectionString));
    client.on('notification', (n) => {
      if (n.channel !== CHANNEL || !n.payload) return;
      const p = JSON.parse(n.payload) as { w: string; k: string; c: LockChange['kind']; t: number; e: number[] | null; d?: boolean; rt?: string };
      if (p.rt !== undefined) {
        this.emitter.emit('token-revoked', String(p.rt));
        return;
      }
      const d = typeof p.d === 'boolean' ? { activeDispatches: p.d } : {};
      this.deliver(p.e ?? [], { workspaceId: p.w, key: p.k, kind: p.c, token: Number(p.t), ...d });
    });
    const lost = (error?: unknown) => {
      if (this.listener !== client) return;
      this.options.log('warn', 'change feed: listener connection lost; reconnecting', error);
      this.listener = null;
      client.end().catch(() => undefined);
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    if (this.stopped) {
      await client.end();
      return;
    }
    this.listener = client;
  }

  private scheduleReconnect(delayMs = 1_000): void {
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.listen()
        // Whatever was notified while nobody listened is found by the sweep; revocations missed
        // meanwhile: whoever caches tokens drops them all.
        .then(() => {
          this.emitter.emit('token-revoked', null);
          return this.sweep();
        })
        .catch(() => this.scheduleReconnect(Math.min(delayMs * 2, 10_000)));
    }, delayMs);
    this.reconnectTimer.unref();
  }

  private scheduleSweep(): void {
    if (this.stopped) return;
    this.sweepTimer = setTimeout(() => {
      this.sweep()
        .catch((error) => this.options.log('warn', 'change feed: sweep failed; retrying', error))
        .finally(() => this.scheduleSweep());
    }, this.options.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  private async sweepOnce(): Promise<void> {
    const started = (await this.pool.query<{ now: Date }>(`SELECT ${NOW} AS now`)).rows[0]?.now ?? new Date();
    const from = new Date((this.sweepFrom ?? started).getTime() - LOOKBACK_MS);
    const { rows } = await this.pool.query<{ id: number; workspace_id: string; key: string; action: string; token: number; now: Date }>(
      `SELECT id, workspace_id, key, action, token, ${NOW} AS now FROM events
       WHERE at >= $1 AND action = ANY($2::text[]) ORDER BY id`,
      [from, Object.keys(KIND_OF_ACTION)],
    );
    for (const r of rows) {
      if (this.seen.has(r.id)) continue;
      this.deliver([r.id], { workspaceId: r.workspace_id, key: r.key, kind: KIND_OF_ACTION[r.action] as LockChange['kind'], token: Number(r.token) });
    }
    this.sweepFrom = started;
    const t = Date.now();
    for (const [id, forgetAt] of this.seen) if (forgetAt < t) this.seen.delete(id);
  }
}
