import type { FastifyInstance } from 'fastify';
import { isServerAdmin, requireServerAdmin, validateWorkspaceName } from '../../auth/workspace-admin.js';
import type { Workspace } from '../../core/ports/locks.js';
import type { AppContext } from '../context.js';
import { envelopeSchema, okEnvelope } from '../envelope.js';
import { principalOf } from './locks.js';

export const workspaceSchema = {
  type: 'object',
  properties: { id: { type: 'string' }, name: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' } },
} as const;

export function workspaceView(w: Workspace) {
  return { id: w.id, name: w.name, createdAt: w.createdAt.toISOString() };
}

export async function workspaceRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  app.post<{ Body: { name: string } }>(
    '/workspaces',
    {
      schema: {
        summary: 'Create a workspace (server admin: a token with admin in the default workspace)',
        body: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 63 } } },
        response: { 201: envelopeSchema(workspaceSchema) },
      },
    },
    async (request, reply) => {
      const caller = principalOf(request);
      await requireServerAdmin(ctx.store, caller, 'creating a workspace');
      const workspace = await ctx.store.access.createWorkspace(validateWorkspaceName(request.body.name), caller.name);
      return reply.code(201).send(okEnvelope(workspaceView(workspace), request.id, 201));
    },
  );

  app.get(
    '/workspaces',
    {
      schema: {
        summary: 'Workspaces: all of them for the server admin, the caller\'s own for anyone else',
        response: { 200: envelopeSchema({ type: 'object', properties: { workspaces: { type: 'array', items: workspaceSchema } } }) },
      },
    },
    async (request) => {
      const caller = principalOf(request);
      const all = (await isServerAdmin(ctx.store, caller))
        ? await ctx.store.access.listWorkspaces()
        : [await ctx.store.getWorkspace(caller.workspaceId)].filter((w): w is Workspace => w !== null);
      return okEnvelope({ workspaces: all.map(workspaceView) }, request.id);
    },
  );
}
