import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../core/errors.js';
import { lockView, waiterView } from '../../core/lock-view.js';
import type { AppContext } from '../context.js';
import { envelopeSchema, okEnvelope } from '../envelope.js';
import { keyParam, keyStatusSchema, lockViewSchema } from '../schemas.js';
import { keyFrom, principalOf } from './locks.js';

const renewBody = {
  type: 'object',
  required: ['key', 'token'],
  properties: {
    key: { type: 'string' },
    token: { type: 'integer', minimum: 1, description: 'the fencing token of your grant' },
    ttlMs: { type: 'integer', description: 'new lease length from now (default: the last grant\'s or renewal\'s length)' },
  },
} as const;

/** What leases add to the lock routes: the heartbeat, and a key's status with its line of waiters. */
export async function lockStatusRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const { locks, metrics } = ctx;

  app.post<{ Body: { key: string; token: number; ttlMs?: number } }>(
    '/locks/renew',
    {
      schema: {
        summary: 'Heartbeat: extend your lease (the fencing token must be your live grant\'s; otherwise LockLost)',
        body: renewBody,
        response: { 200: envelopeSchema(lockViewSchema) },
      },
    },
    async (request) => {
      const lock = await locks.renew(principalOf(request), request.body);
      metrics.lockOperations.labels('renew', 'renewed').inc();
      return okEnvelope(lockView(lock), request.id);
    },
  );

  app.get(
    '/locks/*',
    {
      schema: {
        summary: 'What blocks a URL-encoded key (held, or expired and in its lock-delay) and its line of waiters',
        params: keyParam,
        response: { 200: envelopeSchema(keyStatusSchema) },
      },
    },
    async (request) => {
      const key = keyFrom(request);
      const status = await locks.status(principalOf(request), key);
      const queue = status.queue.map((w, i) => waiterView(w, i + 1));
      if (!status.lock) {
        const waiting = queue.length > 0 ? ` (${queue.length} waiting in line to take it)` : '';
        throw new DomainError('LockNotFound', `'${key}' is not locked${waiting}`, { key, queue });
      }
      return okEnvelope({ ...lockView(status.lock), state: status.state, availableAt: status.availableAt?.toISOString(), queue }, request.id);
    },
  );
}
