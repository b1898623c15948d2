import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../core/errors.js';
import type { DashboardSessions } from '../../auth/dashboard-sessions.js';
import type { LockChange } from '../../core/ports/locks.js';
import type { AppContext } from '../context.js';
import { principalOf } from './locks.js';

/** How stale a dashboard session's validity may be when a change is about to be sent on its stream. */
const RECHECK_SESSION_MS = 15_000;

/**
 * Server-sent events: every committed change in the caller's workspace, as the store reports it
 * (on PostgreSQL that includes other replicas' changes). The dashboard refetches what a change
 * touches; a change carries only a key, a kind and a token. A stream opened with a dashboard
 * session ends with it: at its expiry, at a sign-out through this server, and otherwise at the
 * first change after it was signed out elsewhere (checked at most every 15 s). Any stream ends at
 * once, after an `ended` event, when the token it was opened with is revoked (on any replica).
 */
export async function streamRoutes(app: FastifyInstance, { ctx, sessions }: { ctx: AppContext; sessions: DashboardSessions }): Promise<void> {
  // Open streams never end by themselves: close them when the server closes, or close() would wait for every browser.
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const close of open) close();
  });

  app.get(
    '/stream',
    {
      sse: { kind: 'only' },
      schema: {
        summary: "Live changes in the caller's workspace (text/event-stream: `ready`, then one `change` per committed change)",
      },
    },
    async (request, reply) => {
      const { workspaceId } = principalOf(request);
      const session = request.dashboardSession;
      const now = await ctx.store.now(); // the store's clock decides session expiry, as it decides lock expiry
      let checkedAt = Date.now();
      reply.sse.keepAlive();
      const close = () => reply.sse.close();
      const send = async (change: LockChange) => {
        if (change.workspaceId !== workspaceId || !reply.sse.isConnected) return;
        if (session && Date.now() - checkedAt > RECHECK_SESSION_MS) {
          checkedAt = Date.now();
          if (!(await sessions.resolve(session.secret).catch(() => null))) return close();
        }
        reply.sse.send({ event: 'change', data: { key: change.key, kind: change.kind, token: change.token } }).catch((error: unknown) => {
          request.log.debug({ err: error }, 'stream write failed');
        });
      };
      const stop = ctx.store.onChange((change) => void send(change));
      // A revoked token ends its streams at once (a dashboard session's, or a bearer's): whether
      // this one's was revoked is asked again the way the request was authenticated.
      const authorization = request.headers.authorization;
      // Only a refusal says the token is gone; a failing lookup (a database hiccup) keeps the stream.
      const stillValid = async () => {
        try {
          if (session) return (await sessions.resolve(session.secret)) !== null;
          await ctx.authenticate(authorization);
          return true;
        } catch (error) {
          return !(error instanceof DomainError && error.tag === 'Unauthorized');
        }
      };
      const check = () =>
        void stillValid().then(async (valid) => {
          if (valid || !reply.sse.isConnected) return;
          await reply.sse.send({ event: 'ended', data: { reason: 'token_revoked', message: 'the token this stream was opened with was revoked' } }).catch(() => undefined);
          close();
        });
      const stopRevoked = ctx.store.onTokenRevoked(check);
      // A revocation between authentication and here was not heard: ask once now.
      check();
      open.add(close);
      const stopSession = session ? endWithSession(sessions, session.record, session.record.expiresAt.getTime() - now.getTime(), close) : () => undefined;
      reply.sse.onClose(() => {
        stop();
        stopRevoked();
        stopSession();
        open.delete(close);
      });
      await reply.sse.send({ event: 'ready', data: { serverTime: now.toISOString() } });
    },
  );
}

/** Closes a session's stream at the session's expiry, or when it is signed out through this server. */
function endWithSession(sessions: DashboardSessions, record: { idHash: string }, remainingMs: number, close: () => void): () => void {
  const timer = setTimeout(close, Math.max(0, remainingMs));
  timer.unref();
  const off = sessions.onEnded((idHash) => idHash === record.idHash && close());
  return () => {
    clearTimeout(timer);
    off();
  };
}
