import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { csrfTokenFor, type DashboardSessions, SESSION_COOKIE } from '../../auth/dashboard-sessions.js';
import { hasScope, type Principal, SCOPES } from '../../core/types.js';
import type { AppContext } from '../context.js';
import { envelopeSchema, okEnvelope } from '../envelope.js';
import { assertSameOrigin, type RequestSession } from '../request-auth.js';
import { principalOf } from './locks.js';

const sessionViewSchema = {
  type: 'object',
  properties: {
    principal: { type: 'string' },
    kind: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string' } },
    canForce: { type: 'boolean', description: 'may force-unlock other holders\' locks (locks:force)' },
    workspace: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } } },
    csrfToken: { type: ['string', 'null'], description: 'send as X-CSRF-Token with every change made with the session cookie' },
    expiresAt: { type: ['string', 'null'], format: 'date-time' },
    serverTime: { type: 'string', format: 'date-time' },
  },
} as const;

/**
 * The dashboard's sign-in: trade a pasted API token for an HttpOnly, SameSite=Strict session
 * cookie; read who is signed in (and the CSRF token); sign out.
 */
export async function sessionRoutes(app: FastifyInstance, { ctx, sessions }: { ctx: AppContext; sessions: DashboardSessions }): Promise<void> {
  const view = async (principal: Principal, session: RequestSession | null) => {
    const workspace = await ctx.store.getWorkspace(principal.workspaceId);
    return {
      principal: principal.name,
      kind: principal.kind,
      scopes: SCOPES.filter((s) => hasScope(principal, s)),
      canForce: hasScope(principal, 'locks:force'),
      workspace: { id: principal.workspaceId, name: workspace?.name ?? principal.workspaceId },
      csrfToken: session ? csrfTokenFor(session.secret) : null,
      expiresAt: session ? session.record.expiresAt.toISOString() : null,
      serverTime: (await ctx.store.now()).toISOString(),
    };
  };

  app.post<{ Body: { token: string } }>(
    '/session',
    {
      config: { public: true },
      schema: {
        summary: 'Dashboard sign-in: trade an API token for a session cookie (HttpOnly, SameSite=Strict)',
        security: [],
        body: {
          type: 'object',
          required: ['token'],
          additionalProperties: false,
          properties: { token: { type: 'string', minLength: 1, maxLength: 512 } },
        },
        response: { 201: envelopeSchema(sessionViewSchema) },
      },
    },
    async (request, reply) => {
      // Login CSRF: another site must not sign a visitor in as someone else.
      assertSameOrigin(request);
      const opened = await sessions.open(request.body.token);
      setSessionCookie(request, reply, opened.secret, opened.session.expiresAt);
      const data = await view(opened.principal, { secret: opened.secret, record: opened.session });
      return reply.code(201).send(okEnvelope(data, request.id, 201));
    },
  );

  app.get(
    '/session',
    { schema: { summary: 'Who is signed in, with the CSRF token of a dashboard session', response: { 200: envelopeSchema(sessionViewSchema) } } },
    async (request) => okEnvelope(await view(principalOf(request), request.dashboardSession), request.id),
  );

  app.delete('/session', { schema: { summary: 'Sign out of the dashboard' } }, async (request, reply) => {
    principalOf(request);
    const session = request.dashboardSession;
    if (session) await sessions.close(session.secret);
    void reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return okEnvelope({ signedOut: session !== null }, request.id);
  });
}

function setSessionCookie(request: FastifyRequest, reply: FastifyReply, secret: string, expires: Date): void {
  void reply.setCookie(SESSION_COOKIE, secret, {
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    // Secure whenever the browser reached us over TLS (directly, or through a proxy fastify trusts).
    secure: request.protocol === 'https',
    expires,
  });
}
