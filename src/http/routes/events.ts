import type { FastifyInstance } from 'fastify';
import { AUDIT_ACTIONS, type AuditAction, type AuditEvent } from '../../core/audit.js';
import { DomainError } from '../../core/errors.js';
import type { AppContext } from '../context.js';
import { envelopeSchema, okEnvelope } from '../envelope.js';
import { principalOf } from './locks.js';

const eventSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    at: { type: 'string', format: 'date-time' },
    action: { type: 'string', enum: [...AUDIT_ACTIONS] },
    actor: { type: 'string' },
    key: { type: ['string', 'null'] },
    token: { type: ['integer', 'null'] },
    details: { type: ['object', 'null'], additionalProperties: true },
  },
} as const;

interface EventsQuery {
  key?: string;
  actor?: string;
  action?: AuditAction;
  since?: string;
  until?: string;
  limit: number;
  cursor?: string;
}

export function eventView(e: AuditEvent) {
  return { id: e.id, at: e.at.toISOString(), action: e.action, actor: e.actor, key: e.key, token: e.token, details: e.details };
}

export async function eventRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  app.get<{ Querystring: EventsQuery }>(
    '/events',
    {
      schema: {
        summary: "The caller's workspace audit log, newest first",
        querystring: {
          type: 'object',
          properties: {
            key: { type: 'string', maxLength: 512 },
            actor: { type: 'string', maxLength: 512 },
            action: { type: 'string', enum: [...AUDIT_ACTIONS] },
            since: { type: 'string', description: 'RFC 3339 time, inclusive' },
            until: { type: 'string', description: 'RFC 3339 time, exclusive' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            cursor: { type: 'string', pattern: '^[0-9]+$', description: 'nextCursor of the previous page' },
          },
        },
        response: {
          200: envelopeSchema({
            type: 'object',
            properties: { events: { type: 'array', items: eventSchema }, nextCursor: { type: ['string', 'null'] } },
          }),
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const q = request.query;
      const events = await ctx.store.queryEvents({
        workspaceId: principal.workspaceId,
        limit: q.limit,
        ...(q.key !== undefined ? { key: q.key } : {}),
        ...(q.actor !== undefined ? { actor: q.actor } : {}),
        ...(q.action !== undefined ? { action: q.action } : {}),
        ...(q.since !== undefined ? { since: parseTime(q.since, 'since') } : {}),
        ...(q.until !== undefined ? { until: parseTime(q.until, 'until') } : {}),
        ...(q.cursor !== undefined ? { before: Number(q.cursor) } : {}),
      });
      const last = events[events.length - 1];
      return okEnvelope(
        { events: events.map(eventView), nextCursor: events.length === q.limit && last ? String(last.id) : null },
        request.id,
      );
    },
  );
}

function parseTime(value: string, name: string): Date {
  const d = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(d.getTime())) {
    throw new DomainError('ValidationError', `${name} must be an RFC 3339 time such as 2026-06-09T10:00:00Z`);
  }
  return d;
}
