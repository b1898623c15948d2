import type { FastifyInstance } from 'fastify';
import { DISPATCH_STATES, type DispatchState } from '../../core/dispatch.js';
import { dispatchView, githubWebUrl } from '../../core/dispatch-view.js';
import type { CreateDispatchRequest } from '../../dispatch/dispatch-service.js';
import type { AppContext } from '../context.js';
import { envelopeSchema, okEnvelope } from '../envelope.js';
import { dispatchViewSchema } from '../schemas.js';
import { principalOf } from './locks.js';

const createBody = {
  type: 'object',
  required: ['key', 'repository', 'workflow', 'ref'],
  properties: {
    key: { type: 'string', description: 'the lock key this dispatch waits for (e.g. owner/repo/stack/component)' },
    repository: { type: 'string', description: "'owner/name' of the repository whose workflow runs" },
    workflow: { type: ['string', 'integer'], description: "workflow file name ('deploy.yml') or id" },
    ref: { type: 'string', description: 'branch or tag to run the workflow at' },
    inputs: {
      type: 'object',
      additionalProperties: { type: ['string', 'number', 'boolean'] },
      description: 'workflow_dispatch inputs, at most 25 (GitHub refuses more; stacklock answers 400 with context.reason too_many_inputs)',
    },
    pullRequest: { type: 'integer', minimum: 1, description: 'a newer dispatch for the same key, workflow and pull request supersedes a waiting one' },
    headSha: { type: 'string', description: 'commit that gets the commit status of the key (stacklock/<key>, see docs/dispatch.md for long or mixed-case keys)' },
  },
} as const;

const listQuery = {
  type: 'object',
  properties: {
    key: { type: 'string', maxLength: 512 },
    state: { type: 'string', enum: [...DISPATCH_STATES] },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    cursor: { type: 'string', pattern: '^[0-9]+$', description: 'nextCursor of the previous page' },
  },
} as const;

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } } as const;

export async function dispatchRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const webUrl = githubWebUrl(ctx.config.github.apiUrl);
  const one = envelopeSchema(dispatchViewSchema);

  app.post<{ Body: CreateDispatchRequest }>(
    '/dispatches',
    {
      schema: {
        summary: 'Queue a workflow dispatch for a key: sent at once when the key is free, else when its lock is released or expires',
        body: createBody,
        response: { 201: one },
      },
    },
    async (request, reply) => {
      const { dispatch } = await ctx.dispatches.create(principalOf(request), request.body);
      return reply.code(201).send(okEnvelope(dispatchView(dispatch, webUrl), request.id, 201));
    },
  );

  app.get<{ Querystring: { key?: string; state?: DispatchState; limit: number; cursor?: string } }>(
    '/dispatches',
    {
      schema: {
        summary: "The caller's workspace dispatches, newest first, optionally for one key or in one state",
        querystring: listQuery,
        response: {
          200: envelopeSchema({
            type: 'object',
            properties: { dispatches: { type: 'array', items: dispatchViewSchema }, nextCursor: { type: ['string', 'null'] } },
          }),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await ctx.dispatches.list(principalOf(request), {
        limit: q.limit,
        ...(q.key !== undefined ? { key: q.key } : {}),
        ...(q.state !== undefined ? { state: q.state } : {}),
        ...(q.cursor !== undefined ? { beforeSeq: Number(q.cursor) } : {}),
      });
      const last = rows[rows.length - 1];
      return okEnvelope(
        { dispatches: rows.map((d) => dispatchView(d, webUrl)), nextCursor: rows.length === q.limit && last ? String(last.seq) : null },
        request.id,
      );
    },
  );

  app.get<{ Params: { id: string } }>(
    '/dispatches/:id',
    { schema: { summary: 'One dispatch', params: idParams, response: { 200: one } } },
    async (request) => okEnvelope(dispatchView(await ctx.dispatches.get(principalOf(request), request.params.id), webUrl), request.id),
  );

  app.post<{ Params: { id: string }; Body: { reason?: string } | undefined }>(
    '/dispatches/:id/cancel',
    {
      schema: {
        summary: 'Cancel a waiting dispatch (needs dispatches:write)',
        params: idParams,
        body: { type: ['object', 'null'], properties: { reason: { type: 'string', maxLength: 1024 } } },
        response: { 200: one },
      },
    },
    async (request) => {
      const d = await ctx.dispatches.cancel(principalOf(request), request.params.id, request.body?.reason ?? null);
      return okEnvelope(dispatchView(d, webUrl), request.id);
    },
  );
}
