import type { FastifyInstance } from 'fastify';
import { adminWorkspace, repositoryKeyGlobs, validateRepository } from '../../auth/workspace-admin.js';
import { DomainError } from '../../core/errors.js';
import type { RepositoryPermission } from '../../core/ports/access.js';
import type { AppContext } from '../context.js';
import { workspaceQuery } from '../schemas.js';
import { envelopeSchema, okEnvelope } from '../envelope.js';
import { principalOf } from './locks.js';

const permissionSchema = {
  type: 'object',
  properties: {
    workspaceId: { type: 'string' },
    repository: { type: 'string' },
    keys: { type: 'array', items: { type: 'string' } },
    force: { type: 'boolean' },
    allowedBy: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;

const repoParams = {
  type: 'object',
  required: ['owner', 'repo'],
  properties: { owner: { type: 'string' }, repo: { type: 'string' } },
} as const;

function permissionView(p: RepositoryPermission) {
  return {
    workspaceId: p.workspaceId,
    repository: p.repository,
    keys: [...p.keyGlobs],
    force: p.mayForce,
    allowedBy: p.allowedBy,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

/** Which GitHub repositories may exchange Actions OIDC tokens in a workspace, and for which keys. */
export async function repositoryRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  app.get<{ Querystring: { workspace?: string } }>(
    '/repos',
    {
      schema: {
        summary: 'Repositories allowed in a workspace (admin of that workspace)',
        querystring: workspaceQuery,
        response: { 200: envelopeSchema({ type: 'object', properties: { repositories: { type: 'array', items: permissionSchema } } }) },
      },
    },
    async (request) => {
      const ws = await adminWorkspace(ctx.store, principalOf(request), request.query.workspace);
      return okEnvelope({ repositories: (await ctx.store.access.listRepositories(ws.id)).map(permissionView) }, request.id);
    },
  );

  app.put<{ Params: { owner: string; repo: string }; Querystring: { workspace?: string }; Body: { keys?: string[]; force?: boolean } | undefined }>(
    '/repos/:owner/:repo',
    {
      schema: {
        summary: 'Allow a repository (or change its keys): its Actions OIDC tokens may lock keys matching the globs (default <owner>/<repo>/**)',
        params: repoParams,
        querystring: workspaceQuery,
        body: {
          type: 'object',
          properties: {
            keys: { type: 'array', items: { type: 'string' }, description: 'key globs: ** spans "/", * and ? do not' },
            force: { type: 'boolean', default: false, description: 'may force-release locks on those keys' },
          },
        },
        response: { 200: envelopeSchema(permissionSchema) },
      },
    },
    async (request) => {
      const caller = principalOf(request);
      const ws = await adminWorkspace(ctx.store, caller, request.query.workspace);
      const repository = validateRepository(`${request.params.owner}/${request.params.repo}`);
      const permission = await ctx.store.access.allowRepository({
        workspaceId: ws.id,
        repository,
        keyGlobs: repositoryKeyGlobs(repository, request.body?.keys),
        mayForce: request.body?.force === true,
        allowedBy: caller.name,
      });
      return okEnvelope(permissionView(permission), request.id);
    },
  );

  app.delete<{ Params: { owner: string; repo: string }; Querystring: { workspace?: string } }>(
    '/repos/:owner/:repo',
    { schema: { summary: 'Revoke a repository: its sessions stop working at once', params: repoParams, querystring: workspaceQuery } },
    async (request) => {
      const caller = principalOf(request);
      const ws = await adminWorkspace(ctx.store, caller, request.query.workspace);
      const repository = validateRepository(`${request.params.owner}/${request.params.repo}`);
      if (!(await ctx.store.access.revokeRepository(ws.id, repository, caller.name))) {
        throw new DomainError('NotFound', `${repository} is not allowed in workspace '${ws.name}'`);
      }
      return okEnvelope({ repository, revoked: true }, request.id);
    },
  );
}
