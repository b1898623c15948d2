import type { ApiTokenRecord } from './locks.js';

/**
 * The storage port for dashboard sign-in sessions (`Store.dashboardSessions`), kept apart from
 * `LockStore`, and apart from the OIDC exchange's bearer sessions in the access store.
 * A session is known only by the SHA-256 of its secret (the cookie value), never by the
 * secret itself. It points at the API token it was opened with, so revoking that token
 * ends the session at once. Expiry is decided on the store's clock, like lock expiry.
 */
export interface DashboardSessionStore {
  /** Stores a new session and drops expired ones (so the table never grows without bound). */
  createSession(input: NewDashboardSession): Promise<DashboardSessionRecord>;
  /** The live session with this id hash and the token behind it, or null when unknown or expired. */
  findSession(idHash: string): Promise<{ readonly session: DashboardSessionRecord; readonly token: ApiTokenRecord } | null>;
  /** Ends a session (sign-out). True when one was there. */
  deleteSession(idHash: string): Promise<boolean>;
}

export interface NewDashboardSession {
  readonly idHash: string;
  readonly workspaceId: string;
  readonly tokenId: string;
  readonly ttlMs: number;
}

export interface DashboardSessionRecord {
  readonly idHash: string;
  readonly workspaceId: string;
  readonly tokenId: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}
