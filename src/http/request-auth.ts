import type { FastifyRequest } from 'fastify';
import type { Authenticate } from '../auth/authenticate.js';
import { CSRF_HEADER, csrfMatches, type DashboardSessions, SESSION_COOKIE } from '../auth/dashboard-sessions.js';
import { DomainError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import type { DashboardSessionRecord } from '../core/ports/dashboard-sessions.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The dashboard session a request was authenticated with (null for bearer tokens). */
export interface RequestSession {
  readonly secret: string;
  readonly record: DashboardSessionRecord;
}

/**
 * Who is calling. An `Authorization` header always wins and is checked exactly as before, so
 * bearer-token API clients (the CLI, atmos, CI) see no change and never need a CSRF token:
 * a browser cannot attach that header cross-site. Without one, the dashboard's session cookie
 * is accepted; a state change made with the cookie must also come from our own origin and carry
 * the CSRF token, because browsers attach cookies by themselves.
 */
export function requestAuthenticator(authenticate: Authenticate, sessions: DashboardSessions) {
  return async (request: FastifyRequest): Promise<{ principal: Principal; session: RequestSession | null }> => {
    const authorization = request.headers.authorization;
    const secret = request.cookies?.[SESSION_COOKIE];
    if (authorization || !secret) return { principal: await authenticate(authorization), session: null };
    const found = await sessions.resolve(secret);
    if (!found) {
      throw new DomainError('Unauthorized', 'your dashboard session has ended (signed out, expired, or its token was revoked): sign in again');
    }
    if (!SAFE_METHODS.has(request.method)) {
      assertSameOrigin(request);
      const presented = request.headers[CSRF_HEADER];
      if (!csrfMatches(secret, typeof presented === 'string' ? presented : undefined)) {
        throw new DomainError(
          'Forbidden',
          `missing or wrong CSRF token: a change made with the dashboard's session cookie must send the ${CSRF_HEADER} header (API clients use "Authorization: Bearer <token>" instead)`,
        );
      }
    }
    return { principal: found.principal, session: { secret, record: found.session } };
  };
}

/**
 * Refuses a request a browser marked as coming from another site or origin. Sec-Fetch-Site is
 * set by the browser itself (a proxy cannot spoil it); Origin against Host is the fallback for
 * browsers that do not send it.
 */
export function assertSameOrigin(request: FastifyRequest): void {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') {
    if (site === 'same-origin' || site === 'none') return;
    throw new DomainError('Forbidden', `cross-site request refused (Sec-Fetch-Site: ${site})`);
  }
  const origin = request.headers.origin;
  if (typeof origin !== 'string' || origin === '') return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    throw new DomainError('Forbidden', 'cross-origin request refused (unreadable Origin header)');
  }
  if (host !== request.headers.host) throw new DomainError('Forbidden', `cross-origin request refused (Origin: ${origin})`);
}
