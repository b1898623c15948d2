import { Webhooks } from '@octokit/webhooks';
import type { FastifyInstance } from 'fastify';
import type { PullRequestFacts } from '../../core/atmos-plan.js';
import { DomainError } from '../../core/errors.js';
import type { AppContext } from '../context.js';
import { envelopeSchema, okEnvelope } from '../envelope.js';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../json-body.js';

/** GitHub sends at most 25 MB per delivery. */
const WEBHOOK_BODY_LIMIT = 25 * 1024 * 1024;
const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** The facts stacklock keeps of a pull_request payload; null when it lacks what the flow needs. */
export function pullRequestFacts(deliveryId: string, payload: Json): PullRequestFacts | null {
  const pr = obj(payload.pull_request);
  const head = obj(pr.head);
  const base = obj(pr.base);
  const repository = str(obj(payload.repository).full_name) ?? str(obj(base.repo).full_name);
  const number = typeof pr.number === 'number' ? pr.number : payload.number;
  const headSha = str(head.sha);
  const action = str(payload.action);
  if (!repository || !action || typeof number !== 'number' || !headSha || !SHA.test(headSha) || !str(head.ref) || !str(base.ref)) return null;
  return {
    deliveryId,
    repository,
    action,
    merged: pr.merged === true,
    number,
    headSha,
    headRef: head.ref as string,
    baseRef: base.ref as string,
    mergeCommitSha: str(pr.merge_commit_sha),
  };
}

/**
 * `POST /webhooks/github`: GitHub's `pull_request` events for the Atmos flow. The body is kept
 * as the exact bytes GitHub signed, checked against `X-Hub-Signature-256` with
 * @octokit/webhooks (constant time) before anything else is read; a bad signature is a 401 and
 * is logged. Public (GitHub sends no bearer token): the signature is the authentication.
 */
export async function githubWebhookRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const secret = ctx.config.github.webhookSecret;
  const webhooks = secret ? new Webhooks({ secret }) : null;
  // In this plugin only: the signature covers the raw bytes, so JSON is parsed after checking it.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: WEBHOOK_BODY_LIMIT }, (_request, body, done) => done(null, body));

  app.post<{ Body: string }>(
    '/webhooks/github',
    {
      config: { public: true },
      bodyLimit: WEBHOOK_BODY_LIMIT,
      schema: {
        summary: 'GitHub webhook (pull_request events) for the Atmos flow; authenticated by X-Hub-Signature-256',
        security: [],
        response: {
          200: envelopeSchema({ type: 'object', properties: { event: { type: 'string' } } }),
          202: envelopeSchema({
            type: 'object',
            properties: {
              event: { type: 'string' },
              delivery: { type: 'string' },
              ignored: { type: 'boolean' },
              redelivered: { type: 'boolean' },
              planned: { type: 'integer', description: 'dispatches queued by this delivery (its upload may come later)' },
            },
          }),
        },
      },
    },
    async (request, reply) => {
      if (!webhooks) {
        throw new DomainError('Unavailable', 'GitHub webhooks are not configured on this server: set STACKLOCK_GITHUB_WEBHOOK_SECRET (or _FILE)');
      }
      const event = request.headers['x-github-event'];
      const delivery = request.headers['x-github-delivery'];
      const signature = request.headers['x-hub-signature-256'];
      const body = typeof request.body === 'string' ? request.body : '';
      const verified = typeof signature === 'string' && (await webhooks.verify(body, signature).catch(() => false));
      if (!verified) {
        request.log.warn({ delivery, event, ip: request.ip, signed: typeof signature === 'string' }, 'GitHub webhook refused: X-Hub-Signature-256 does not verify');
        throw new DomainError('Unauthorized', 'the X-Hub-Signature-256 signature does not match the body and the configured webhook secret');
      }
      if (typeof event !== 'string' || typeof delivery !== 'string' || delivery === '') {
        throw new DomainError('ValidationError', 'X-GitHub-Event and X-GitHub-Delivery headers are required');
      }
      let payload: Json;
      try {
        payload = obj(JSON.parse(body));
      } catch {
        throw new DomainError('ValidationError', 'the webhook body is not JSON (configure the webhook with content type application/json)');
      }
      if (jsonDepthExceeds(payload, MAX_JSON_DEPTH)) throw new DomainError('ValidationError', `the JSON body is nested more than ${MAX_JSON_DEPTH} levels deep`);
      if (event === 'ping') return okEnvelope({ event }, request.id);
      if (event !== 'pull_request') return reply.code(202).send(okEnvelope({ event, delivery, ignored: true }, request.id, 202));
      const facts = pullRequestFacts(delivery, payload);
      if (!facts) throw new DomainError('ValidationError', 'the pull_request payload lacks repository, number, head sha/ref or base ref');
      const { redelivered, planned } = await ctx.atmosFlow.pullRequest(facts);
      request.log.info({ delivery, repository: facts.repository, pullRequest: facts.number, action: facts.action, planned }, 'GitHub pull_request webhook');
      return reply.code(202).send(okEnvelope({ event, delivery, ignored: false, redelivered, planned }, request.id, 202));
    },
  );
}
