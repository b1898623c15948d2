import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../core/errors.js';
import type { AppContext } from '../context.js';
import { okEnvelope } from '../envelope.js';

export async function healthRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const open = { config: { public: true }, schema: { hide: false, security: [] } };

  app.get('/healthz', { ...open, schema: { ...open.schema, summary: 'The process is up' } }, async (request) =>
    okEnvelope({ status: 'ok' }, request.id),
  );

  app.get('/readyz', { ...open, schema: { ...open.schema, summary: 'The store answers' } }, async (request) => {
    try {
      const now = await ctx.store.now();
      return okEnvelope({ status: 'ready', backend: ctx.store.capabilities.backend, time: now.toISOString() }, request.id);
    } catch (error) {
      request.log.warn({ err: error }, 'store not ready');
      throw new DomainError('Unavailable', 'the store does not answer');
    }
  });

  app.get('/metrics', { ...open, schema: { ...open.schema, summary: 'Prometheus metrics' } }, async (_request, reply) => {
    return reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });

  app.get('/openapi.json', { ...open, schema: { hide: true } }, async () => app.swagger());
}
