import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { envelopeSchema, okEnvelope } from '../envelope.js';

/** The atmos login: no Authorization header; the OIDC token is the credential. */
export async function authRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  app.post<{ Body: { token: string; workspaceId: string } }>(
    '/auth/github-oidc',
    {
      config: { public: true },
      schema: {
        summary: 'Exchange a GitHub Actions OIDC token for a short-lived session token (what atmos does)',
        security: [],
        body: {
          type: 'object',
          required: ['token', 'workspaceId'],
          properties: {
            token: { type: 'string', minLength: 1, maxLength: 16384, description: 'the Actions OIDC JWT (audience atmos-pro.com by default)' },
            workspaceId: { type: 'string', minLength: 1, maxLength: 100, description: 'workspace id (or name)' },
          },
        },
        response: {
          200: envelopeSchema({
            type: 'object',
            properties: {
              token: { type: 'string', description: 'send as "Authorization: Bearer <token>"' },
              expiresAt: { type: 'string', format: 'date-time' },
              workspaceId: { type: 'string' },
              principal: { type: 'string' },
            },
          }),
        },
      },
    },
    // atmos accepts only HTTP 200 here (not 201).
    async (request) => {
      const r = await ctx.oidc.exchange(request.body.token, request.body.workspaceId);
      return okEnvelope({ token: r.token, expiresAt: r.expiresAt.toISOString(), workspaceId: r.workspaceId, principal: r.principal }, request.id);
    },
  );
}
