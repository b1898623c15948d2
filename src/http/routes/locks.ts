import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../../core/errors.js';
import type { ReleaseRequest } from '../../core/lock-service.js';
import { availableAt } from '../../core/lock-rules.js';
import { lockView } from '../../core/lock-view.js';
import type { Principal } from '../../core/types.js';
import type { AppContext } from '../context.js';
import { atmosPropertiesSchema, fromAtmosLockFields, type AtmosLockFields, UNLOCK_BY_KEY_REASON } from '../atmos-wire.js';
import { envelopeSchema, okEnvelope } from '../envelope.js';
import { keyParam, keyStatusSchema, lockViewSchema } from '../schemas.js';
import { disconnectSignal } from '../disconnect.js';

const MAX_PAGE = 1000;

const acquireBody = {
  type: 'object',
  required: ['key'],
  properties: {
    key: { type: 'string', description: '1–512 characters, no control characters' },
    ttlMs: { type: 'integer', description: 'lease length in milliseconds (1s to the configured maximum)' },
    ttl: { type: 'integer', description: 'the atmos form: lease length in seconds (ttlMs wins when both are sent)' },
    message: { type: 'string', maxLength: 1024, description: 'shown to anyone the lock blocks' },
    lockMessage: { type: 'string', maxLength: 1024, description: 'the atmos form of message (message wins when both are sent)' },
    holderId: { type: 'string', description: 'same principal + same holderId renews instead of being refused' },
    properties: atmosPropertiesSchema,
    waitMs: {
      type: 'integer',
      minimum: 0,
      description:
        'when held, wait in the key\'s line up to this long (first come, first served; leaving the line when the client disconnects); default 0',
    },
  },
} as const;

/** A lock in the listing: its status, and how many wait in its line (the whole line: GET /locks/{key}). */
const listedLockSchema = {
  type: 'object',
  properties: {
    ...keyStatusSchema.properties,
    queueLength: { type: 'integer', description: 'how many wait in line for it' },
  },
} as const;

/** A grant: the lock, and where its lease stood when the server answered. */
const grantSchema = {
  type: 'object',
  properties: {
    ...lockViewSchema.properties,
    heldMs: { type: 'integer', description: 'how long the server held the request (waiting in line) before measuring leaseRemainingMs' },
    leaseRemainingMs: {
      type: 'integer',
      description:
        'what was left of the lease then, on the server\'s clock: a client that sent the request at T holds the lease at least until T + heldMs + leaseRemainingMs on its own clock',
    },
  },
} as const;

const releaseBody = {
  type: 'object',
  required: ['key'],
  properties: {
    key: { type: 'string' },
    force: { type: 'boolean', description: 'release a lock held by someone else (needs locks:force)' },
    holderId: { type: 'string' },
    reason: { type: 'string', maxLength: 1024, description: 'recorded in the audit event of a forced release' },
  },
} as const;

const releaseQuery = {
  type: 'object',
  properties: {
    force: { type: 'boolean' },
    holderId: { type: 'string' },
    reason: { type: 'string', maxLength: 1024 },
  },
} as const;

const listQuery = {
  type: 'object',
  properties: {
    prefix: { type: 'string', maxLength: 512 },
    limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 100 },
    cursor: { type: 'string', maxLength: 4096 },
  },
} as const;

interface AcquireBody extends AtmosLockFields {
  key: string;
  ttlMs?: number;
  message?: string;
  holderId?: string;
  waitMs?: number;
}
interface ReleaseBody {
  key: string;
  force?: boolean;
  holderId?: string;
  reason?: string;
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new DomainError('Unauthorized', 'authentication required');
  return request.principal;
}

/** The key of `/locks/<urlencoded key>`: the router has already decoded it. */
export function keyFrom(request: FastifyRequest): string {
  return (request.params as { '*': string })['*'];
}

export async function lockRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const { locks, metrics } = ctx;

  app.post<{ Body: AcquireBody }>(
    '/locks',
    {
      schema: {
        summary: 'Acquire a lock, or renew it when the same holder already holds it',
        body: acquireBody,
        response: { 200: envelopeSchema(grantSchema), 201: envelopeSchema(grantSchema) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const atmos = fromAtmosLockFields(b);
      const principal = principalOf(request);
      const gone = b.waitMs ? disconnectSignal(request, reply) : undefined;
      try {
        const { outcome, lock, lease } = await locks.acquire(
          principal,
          { key: b.key, ttlMs: atmos.ttlMs, message: atmos.message, holderId: b.holderId, properties: atmos.properties, waitMs: b.waitMs },
          gone,
        );
        metrics.lockOperations.labels('acquire', outcome).inc();
        // Atmos Pro answers a grant with 200; stacklock's own form tells a grant (201) from a renewal (200).
        const status = outcome === 'granted' && !atmos.atmosForm ? 201 : 200;
        return reply
          .code(status)
          .send(okEnvelope({ ...lockView(lock), heldMs: lease.heldMs, leaseRemainingMs: lease.remainingMs }, request.id, status));
      } catch (e) {
        if (e instanceof DomainError && e.tag === 'LockHeld') metrics.lockOperations.labels('acquire', 'held').inc();
        throw e;
      }
    },
  );

  const release = async (request: FastifyRequest, input: ReleaseRequest) => {
    const { outcome, lock, at } = await locks.release(principalOf(request), input);
    metrics.lockOperations.labels('release', outcome).inc();
    return okEnvelope({ ...lockView(lock, at), outcome }, request.id);
  };

  // The atmos unlock (`atmos pro unlock` sends only `{"key": …}`, has no --force and reads only
  // `success`): releasing a free key is a success (`outcome: not_locked`), and without a `force`
  // field a caller that holds locks:force for the key releases it whoever holds it.
  app.delete<{ Body: ReleaseBody }>(
    '/locks',
    {
      schema: {
        summary:
          'Unlock by key, as atmos does: idempotent (a free key answers outcome not_locked); without "force", a caller with locks:force releases whoever holds it',
        body: releaseBody,
      },
    },
    async (request) => {
      const b = request.body;
      try {
        return await release(request, { ...b, force: b.force ?? 'if-permitted', reason: b.reason ?? null, reasonIfForced: UNLOCK_BY_KEY_REASON });
      } catch (e) {
        if (!(e instanceof DomainError && e.tag === 'LockNotFound')) throw e;
        metrics.lockOperations.labels('release', 'not_locked').inc();
        return okEnvelope({ key: b.key, outcome: 'not_locked' }, request.id);
      }
    },
  );

  app.delete<{ Querystring: { force?: boolean; holderId?: string; reason?: string }; Body: Partial<ReleaseBody> | undefined }>(
    '/locks/*',
    { schema: { summary: 'Release the lock on a URL-encoded key', params: keyParam, querystring: releaseQuery } },
    async (request) => {
      const body = (request.body ?? {}) as Partial<ReleaseBody>;
      return release(request, {
        key: keyFrom(request),
        force: request.query.force ?? body.force,
        holderId: request.query.holderId ?? body.holderId,
        reason: request.query.reason ?? body.reason,
      });
    },
  );

  app.get<{ Querystring: { prefix?: string; limit: number; cursor?: string } }>(
    '/locks',
    {
      schema: {
        summary: 'Live locks by key order, optionally under a prefix (keyset pagination)',
        querystring: listQuery,
        response: {
          200: envelopeSchema({
            type: 'object',
            properties: {
              locks: { type: 'array', items: listedLockSchema },
              nextCursor: { type: ['string', 'null'] },
            },
          }),
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { prefix, limit, cursor } = request.query;
      const lockDelayMs = ctx.config.lockDelayMs;
      const page = await ctx.store.listLocks({
        workspaceId: principal.workspaceId,
        limit,
        lockDelayMs,
        ...(prefix ? { prefix } : {}),
        ...(cursor ? { after: decodeCursor(cursor) } : {}),
      });
      const [now, waiting] = await Promise.all([
        ctx.store.now(),
        ctx.store.leases.queueLengths(principal.workspaceId, page.locks.map((l) => l.key)),
      ]);
      return okEnvelope(
        {
          locks: page.locks.map((l) => ({
            ...lockView(l),
            state: l.expiresAt.getTime() > now.getTime() ? 'held' : 'lock_delay',
            availableAt: availableAt(l, lockDelayMs).toISOString(),
            queueLength: waiting.get(l.key) ?? 0,
          })),
          nextCursor: page.nextAfter === null ? null : Buffer.from(page.nextAfter, 'utf8').toString('base64url'),
        },
        request.id,
      );
    },
  );
}

function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (Buffer.from(key, 'utf8').toString('base64url') !== cursor) {
    throw new DomainError('ValidationError', 'invalid cursor: pass back the nextCursor of a previous page');
  }
  return key;
}
