import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { LockChange } from '../../core/ports/locks.js';
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

/** Changes per announcing statement. */
const ANNOUNCE_BATCH = 500;

/**
 * At most one announcing statement per this many ms. Each one wakes a pooled connection and every
 * replica's listener, which costs more than the changes it carries: announcing every batch as it
 * committed cost ~30 µs of this process's CPU and ~30 µs of PostgreSQL's per lock operation at
 * 50 connections (docs/performance.md). A change after a quiet interval goes out at once; under
 * load the other replicas hear of a change up to this much later (waiters and dispatches are
 * woken within about a second of an expiry, SPEC rule 3).
 */
const ANNOUNCE_INTERVAL_MS = 20;

/**
 * Bytes of one notification's payload at most (PostgreSQL refuses 8000 and more). One change takes
 * at most ~3,200 (a key is at most 512 characters), so every change fits in one.
 */
const PAYLOAD_MAX_BYTES = 7_000;

/** A change as announced: [workspace, key, kind, token, event ids, whether dispatches wait (or null)]. */
type Announced = [string, string, LockChange['kind'], number, number[] | null, boolean | null];

/** Notifications on CHANNEL: a replica's changes (`x`, several), or an API token revoked (`rt`, by the revoking statement). */
interface Payload {
  /** The announcing replica: it delivered these itself and skips its own notification. */
  r?: string;
  x?: Announced[];
  rt?: string;
  /** One change per notification, as earlier versions announce. */
  w?: string;
  k?: string;
  c?: LockChange['kind'];
  t?: number;
  e?: number[] | null;
  d?: boolean;
}

/** How a replica's payloads begin: `{"r":replica,"x":[`; it recognises its own by this. */
const payloadHead = (replica: string) => `{"r":${JSON.stringify(replica)},"x":[`;

/**
 * Packs changes (each already JSON) into as few payloads as fit: `head` (payloadHead), then the changes.
 * Replicas from before this format read such a payload as a change with no key, which matches no
 * subscriber, and find these changes at their next sweep while a rolling upgrade lasts.
 */
function packPayloads(head: string, changes: readonly string[]): string[] {
  const payloads: string[] = [];
  const empty = Buffer.byteLength(head) + 2; // the head and the closing `]}`
  let items: string[] = [];
  let bytes = empty;
  for (const change of changes) {
    const size = Buffer.byteLength(change) + 1;
    if (items.length > 0 && bytes + size > PAYLOAD_MAX_BYTES) {
      payloads.push(`${head}${items.join(',')}]}`);
      items = [];
      bytes = empty;
    }
    items.push(change);
    bytes += size;
  }
  if (items.length > 0) payloads.push(`${head}${items.join(',')}]}`);
  return payloads;
}

/**
 * Tells listeners about every committed lock change, on this replica or any other:
 * - this replica's own changes as soon as their statement returns;
 * - other replicas' through LISTEN/NOTIFY: once a change's statement has returned (committed),
 *   this replica announces it, packed with the others committed meanwhile into as few
 *   notifications as fit (each is queued, sent and parsed by every listener). The lock statements
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
  /** Begins this replica's announcements (a random name), so that it can skip their echo unparsed. */
  private readonly head = payloadHead(randomUUID());
  private announcing: Promise<void> | null = null;
  /** When the last announcing statement started (performance.now()). */
  private lastAnnounced = -Infinity;
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
    const announced: Announced = [change.workspaceId, change.key, change.kind, change.token, eventIds as number[], change.activeDispatches ?? null];
    this.unannounced.push(JSON.stringify(announced));
    this.announcing ??= this.announce();
  }

  /**
   * While one announcement is in flight or waits its turn, the next changes gather: a busy replica
   * sends one statement per interval, carrying everything committed meanwhile.
   */
  private async announce(): Promise<void> {
    try {
      while (this.unannounced.length > 0) {
        const wait = this.lastAnnounced + ANNOUNCE_INTERVAL_MS - performance.now();
        if (wait > 0 && !this.stopped) await sleep(wait);
        this.lastAnnounced = performance.now();
        const batch = this.unannounced.splice(0, ANNOUNCE_BATCH);
        try {
          await queryPrepared(this.pool, ANNOUNCE, [CHANNEL, packPayloads(this.head, batch)]);
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

  private heard(p: Payload): void {
    if (p.rt !== undefined) {
      this.emitter.emit('token-revoked', String(p.rt));
      return;
    }
    // Several changes, or one in the form of earlier versions.
    const changes: Announced[] = Array.isArray(p.x)
      ? p.x
      : p.w !== undefined && p.k !== undefined && p.c !== undefined
        ? [[p.w, p.k, p.c, p.t as number, p.e ?? null, p.d ?? null]]
        : [];
    for (const [workspaceId, key, kind, token, eventIds, d] of changes) {
      this.deliver(eventIds ?? [], { workspaceId, key, kind, token: Number(token), ...(typeof d === 'boolean' ? { activeDispatches: d } : {}) });
    }
  }

  private async listen(): Promise<void> {
    const client = new pg.Client(connectionConfig(this.connectionString));
    client.on('notification', (n) => {
      // This replica's own changes were delivered as they committed.
      if (n.channel !== CHANNEL || !n.payload || n.payload.startsWith(this.head)) return;
      try {
        this.heard(JSON.parse(n.payload) as Payload);
      } catch (error) {
        this.options.log('warn', 'change feed: ignored a notification that is not a change; the sweep catches up', error);
      }
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
