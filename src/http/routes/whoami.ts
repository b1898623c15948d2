import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { envelopeSchema, okEnvelope } from '../envelope.js';
import { principalOf } from './locks.js';

const whoamiSchema = {
  type: 'object',
  properties: {
    principal: { type: 'string', description: '`token:<name>` or `repo:<owner>/<repo>`' },
    kind: { type: 'string', enum: ['token', 'oidc'] },
    workspaceId: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string' } },
    details: { type: ['object', 'null'], additionalProperties: true },
    keys: {
      type: ['array', 'null'],
      items: { type: 'string' },
      description: 'the key globs this principal is limited to; null: every key its scopes allow',
    },
  },
} as const;

/**
 * Who the bearer token says the caller is. It touches nothing but authentication, so it is
 * also the benchmark's ceiling: the cost of one authenticated request through the same
 * framework, hooks and envelope as a lock operation, without the store write.
 */
export async function whoamiRoutes(app: FastifyInstance, _opts: { ctx: AppContext }): Promise<void> {
  app.get(
    '/whoami',
    { schema: { summary: "The caller's principal, kind, workspace and scopes", response: { 200: envelopeSchema(whoamiSchema) } } },
    async (request) => {
      const p = principalOf(request);
      return okEnvelope(
        { principal: p.name, kind: p.kind, workspaceId: p.workspaceId, scopes: [...p.scopes].sort(), details: p.details,
          keys: p.keys ? [...p.keys.globs] : null },
        request.id,
      );
    },
  );
}
