import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { DomainError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import type { LockStore } from '../core/ports/locks.js';
import type { DashboardSessionRecord, DashboardSessionStore } from '../core/ports/dashboard-sessions.js';
import { principalOfToken } from './authenticate.js';
import { hashToken } from './tokens.js';

/**
 * Dashboard sessions. Signing in with an API token opens a session whose 256-bit secret
 * lives only in an HttpOnly, SameSite=Strict cookie; the store keeps its SHA-256. The CSRF
 * token is an HMAC of that secret: the page learns it from GET /api/v1/session (a same-origin
 * read), nothing extra is stored, and it cannot be turned back into the secret.
 */
export const SESSION_COOKIE = 'stacklock_session';
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
export const CSRF_HEADER = 'x-csrf-token';

// Not `sls_`: that is the OIDC exchange's bearer session tokens.
const SESSION_PREFIX = 'sld_';

export function newSessionSecret(): string {
  return SESSION_PREFIX + randomBytes(32).toString('base64url');
}

export function csrfTokenFor(secret: string): string {
  return createHmac('sha256', secret).update('stacklock dashboard csrf v1').digest('base64url');
}

export function csrfMatches(secret: string, presented: string | undefined): boolean {
  if (!presented) return false;
  const expected = Buffer.from(csrfTokenFor(secret));
  const given = Buffer.from(presented);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export interface OpenedSession {
  readonly secret: string;
  readonly session: DashboardSessionRecord;
  readonly principal: Principal;
}

export class DashboardSessions {
  /** Sign-outs in this process, by session id hash: live streams of that session end at once. */
  private readonly ended = new EventEmitter().setMaxListeners(0);

  constructor(
    private readonly store: LockStore,
    private readonly sessions: DashboardSessionStore,
    private readonly ttlMs: number = SESSION_TTL_MS,
  ) {}

  /** Trades a pasted API token for a session. Only API tokens sign in, not OIDC session tokens. */
  async open(apiToken: string): Promise<OpenedSession> {
    const record = await this.store.findTokenByHash(hashToken(apiToken.trim()));
    const principal = record ? principalOfToken(record) : null;
    if (!record || !principal) throw new DomainError('Unauthorized', 'unknown or revoked API token');
    const secret = newSessionSecret();
    const session = await this.sessions.createSession({
      idHash: hashToken(secret),
      workspaceId: record.workspaceId,
      tokenId: record.id,
      ttlMs: this.ttlMs,
    });
    return { secret, session, principal };
  }

  /** The principal of a live session, or null (unknown, expired, or its token revoked). */
  async resolve(secret: string): Promise<{ principal: Principal; session: DashboardSessionRecord } | null> {
    if (!secret.startsWith(SESSION_PREFIX)) return null;
    const found = await this.sessions.findSession(hashToken(secret));
    const principal = found ? principalOfToken(found.token) : null;
    return found && principal ? { principal, session: found.session } : null;
  }

  async close(secret: string): Promise<void> {
    const idHash = hashToken(secret);
    await this.sessions.deleteSession(idHash);
    this.ended.emit('ended', idHash);
  }

  /** Calls `listener` with the id hash of each session signed out through this process. */
  onEnded(listener: (idHash: string) => void): () => void {
    this.ended.on('ended', listener);
    return () => this.ended.off('ended', listener);
  }
}
