import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../core/errors.js';
import { adminWorkspace } from '../../auth/workspace-admin.js';
import { SCOPES, type Scope } from '../../core/types.js';
import { generateToken, hashToken, isValidTokenName } from '../../auth/tokens.js';
import type { ApiTokenRecord } from '../../core/ports/locks.js';
import type { AppContext } from '../context.js';
import { envelopeSchema, okEnvelope } from '../envelope.js';
import { workspaceQuery } from '../schemas.js';
import { principalOf } from './locks.js';

/** An API token as the API shows it: never the token itself (only its creation answers that, once). */
const tokenSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string' } },
    createdBy: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    revokedAt: { type: ['string', 'null'], format: 'date-time' },
    workspaceId: { type: 'string' },
  },
} as const;

const tokenView = (t: ApiTokenRecord) => ({
  id: t.id,
  name: t.name,
  scopes: [...t.scopes],
  createdBy: t.createdBy,
  createdAt: t.createdAt.toISOString(),
  revokedAt: t.revokedAt ? t.revokedAt.toISOString() : null,
  workspaceId: t.workspaceId,
});

export async function tokenRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  app.post<{ Body: { name: string; scopes?: Scope[]; workspace?: string } }>(
    '/tokens',
    {
      schema: {
        summary:
          "Create an API token (admin) in the caller's workspace, or in another one (server admin); the token is returned once",
        body: {
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100 },
            scopes: { type: 'array', items: { type: 'string', enum: [...SCOPES] }, uniqueItems: true, default: ['locks:write'] },
            workspace: workspaceQuery.properties.workspace,
          },
        },
        response: { 201: envelopeSchema({ ...tokenSchema, properties: { ...tokenSchema.properties, token: { type: 'string' } } }) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const workspace = await adminWorkspace(ctx.store, principal, request.body.workspace);
      const { name } = request.body;
      const scopes = request.body.scopes ?? ['locks:write'];
      if (!isValidTokenName(name)) {
        throw new DomainError('ValidationError', 'token name: 1–100 letters, digits, ".", "_", "@" or "-", starting with a letter or digit');
      }
      const token = generateToken();
      const record = await ctx.store.createToken({
        workspaceId: workspace.id,
        name,
        tokenHash: hashToken(token),
        scopes,
        createdBy: principal.name,
      });
      return reply.code(201).send(okEnvelope({ ...tokenView(record), token }, request.id, 201));
    },
  );

  app.get<{ Querystring: { workspace?: string } }>(
    '/tokens',
    {
      schema: {
        summary: "The API tokens of the caller's workspace (admin), revoked ones included; never the tokens themselves",
        querystring: workspaceQuery,
        response: { 200: envelopeSchema({ type: 'object', properties: { tokens: { type: 'array', items: tokenSchema } } }) },
      },
    },
    async (request) => {
      const workspace = await adminWorkspace(ctx.store, principalOf(request), request.query.workspace);
      return okEnvelope({ tokens: (await ctx.store.listTokens(workspace.id)).map(tokenView) }, request.id);
    },
  );

  app.delete<{ Params: { name: string }; Querystring: { workspace?: string; reason?: string } }>(
    '/tokens/:name',
    {
      schema: {
        summary:
          'Revoke an API token by name (admin): it stops working at once, its dashboard sessions end, locks it holds stay until released or expired. Idempotent; the last admin token of a workspace is refused',
        params: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 100 } } },
        querystring: {
          ...workspaceQuery,
          properties: { ...workspaceQuery.properties, reason: { type: 'string', maxLength: 500, description: 'kept in the token.revoked audit event' } },
        },
        response: { 200: envelopeSchema(tokenSchema) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const workspace = await adminWorkspace(ctx.store, principal, request.query.workspace);
      const revoked = await ctx.store.revokeToken({
        workspaceId: workspace.id,
        name: request.params.name,
        by: principal.name,
        reason: request.query.reason ?? null,
      });
      if (!revoked) throw new DomainError('NotFound', `no token named '${request.params.name}' in workspace '${workspace.name}'`);
      return okEnvelope(tokenView(revoked), request.id);
    },
  );
}
