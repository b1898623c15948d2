import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../core/errors.js';
import { adminWorkspace } from '../../auth/workspace-admin.js';
import { SCOPES, type Scope } from '../../core/types.js';
import { generateToken, hashToken, isValidTokenName } from '../../auth/tokens.js';
import type { AppContext } from '../app.js';
import { envelopeSchema, okEnvelope } from '../envelope.js';
import { principalOf } from './locks.js';

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
            workspace: { type: 'string', maxLength: 100, description: "workspace id or name (default: the caller's)" },
          },
        },
        response: {
          201: envelopeSchema({
            type: 'object',
            properties: {
              id: { type: 'string' },
              name: { type: 'string' },
              scopes: { type: 'array', items: { type: 'string' } },
              token: { type: 'string' },
              createdAt: { type: 'string', format: 'date-time' },
              workspaceId: { type: 'string' },
            },
          }),
        },
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
      return reply.code(201).send(
        okEnvelope(
          { id: record.id, name: record.name, scopes: [...record.scopes], token, createdAt: record.createdAt.toISOString(), workspaceId: workspace.id },
          request.id,
          201,
        ),
      );
    },
  );
}
