import type { FastifyInstance } from 'fastify';
import { type AffectedStacksBody, type InstanceStatusBody, instanceOutcome } from '../../dispatch/atmos-uploads.js';
import type { AppContext } from '../context.js';
import { envelopeSchema, okEnvelope } from '../envelope.js';
import { principalOf } from './locks.js';

const text = (maxLength: number) => ({ type: 'string', maxLength }) as const;

/** One affected component in a stack, as atmos describes it; dependents have the same shape. */
const affectedStack = {
  type: 'object',
  required: ['component', 'stack'],
  properties: {
    component: { type: 'string', minLength: 1, maxLength: 512 },
    stack: { type: 'string', minLength: 1, maxLength: 512 },
    included_in_dependents: { type: 'boolean' },
    dependents: { type: ['array', 'null'], items: { type: 'object' } },
    settings: { type: ['object', 'null'] },
    deleted: { type: 'boolean' },
    deletion_type: { type: 'string' },
  },
  additionalProperties: true,
} as const;

const affectedStacksBody = {
  type: 'object',
  required: ['head_sha', 'repo_owner', 'repo_name', 'stacks'],
  properties: {
    head_sha: { type: 'string', minLength: 1, maxLength: 200 },
    base_sha: text(200),
    repo_url: text(2048),
    repo_name: { type: 'string', minLength: 1, maxLength: 100 },
    repo_owner: { type: 'string', minLength: 1, maxLength: 100 },
    repo_host: text(255),
    stacks: { type: 'array', items: affectedStack, maxItems: 100_000 },
    batch_id: { type: 'string', minLength: 1, maxLength: 200 },
    batch_index: { type: 'integer', minimum: 0 },
    batch_total: { type: 'integer', minimum: 1, maximum: 10_000 },
  },
  additionalProperties: true,
} as const;

const instanceStatusBody = {
  type: 'object',
  required: ['command', 'exit_code'],
  properties: {
    command: { type: 'string', minLength: 1, maxLength: 64, description: 'plan, apply, …' },
    exit_code: { type: 'integer', description: 'plan: 0 in sync, 2 drifted, anything else an error' },
    last_run: { type: 'string', description: 'RFC 3339 time of the run' },
  },
  additionalProperties: true,
} as const;

/** What atmos uploads for the dispatch flow (issue 6 reads it through the AtmosUploadStore port). */
export async function atmosUploadRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  app.post<{ Body: AffectedStacksBody }>(
    '/affected-stacks',
    {
      bodyLimit: ctx.config.uploadBodyLimitBytes,
      schema: {
        summary: 'Store the affected stacks of a commit (atmos describe affected --upload), in batches when atmos sends several',
        body: affectedStacksBody,
        response: {
          200: envelopeSchema({
            type: 'object',
            properties: {
              uploadId: { type: 'string' },
              received: { type: 'integer', description: 'batches received so far' },
              total: { type: 'integer' },
              complete: { type: 'boolean', description: 'every batch has arrived: dispatching may read it' },
            },
          }),
        },
      },
    },
    async (request) => {
      const caller = principalOf(request);
      const progress = await ctx.atmosUploads.uploadAffectedStacks(caller, request.body);
      // The pull_request webhooks already kept for this commit make their runs now (issue 6).
      if (progress.complete) ctx.atmosFlow.uploaded(caller.workspaceId, `${request.body.repo_owner}/${request.body.repo_name}`, request.body.head_sha);
      return okEnvelope(progress, request.id);
    },
  );

  app.patch<{ Params: { owner: string; repo: string }; Querystring: { stack: string; component: string }; Body: InstanceStatusBody }>(
    '/repos/:owner/:repo/instances',
    {
      schema: {
        summary: 'Record the result of plan or apply for a component in a stack (atmos --upload-status)',
        params: { type: 'object', required: ['owner', 'repo'], properties: { owner: { type: 'string' }, repo: { type: 'string' } } },
        querystring: {
          type: 'object',
          required: ['stack', 'component'],
          properties: { stack: { type: 'string', minLength: 1, maxLength: 512 }, component: { type: 'string', minLength: 1, maxLength: 512 } },
        },
        body: instanceStatusBody,
      },
    },
    async (request) => {
      const { owner, repo } = request.params;
      const { stack, component } = request.query;
      const caller = principalOf(request);
      const s = await ctx.atmosUploads.reportInstanceStatus(caller, owner, repo, stack, component, request.body);
      // Dependents held until this stack finished may go now (issue 6).
      ctx.atmosFlow.statusReported(caller.workspaceId, s.repository);
      return okEnvelope(
        {
          repository: s.repository,
          stack: s.stack,
          component: s.component,
          command: s.command,
          exitCode: s.exitCode,
          outcome: instanceOutcome(s.command, s.exitCode),
          reportedAt: s.reportedAt.toISOString(),
        },
        request.id,
      );
    },
  );
}
