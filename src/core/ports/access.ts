import type { JsonObject } from '../types.js';
import type { Workspace } from './locks.js';

/**
 * The storage port for who may use a workspace besides its API tokens: the workspaces
 * themselves, the GitHub repositories allowed in each (with the keys they may lock), and the
 * short-lived sessions a GitHub Actions OIDC token is exchanged for. Each change writes its
 * audit event in the same transaction. Implemented by every backend.
 */
export interface AccessStore {
  /** Conflict when the name is taken. Writes `workspace.created` into the new workspace. */
  createWorkspace(name: string, createdBy: string): Promise<Workspace>;
  listWorkspaces(): Promise<Workspace[]>;

  /** Allows a repository, or replaces its keys and force right. Writes `repository.allowed`. */
  allowRepository(input: AllowRepositoryInput): Promise<RepositoryPermission>;
  /** False when it was not allowed. Its sessions stop working at once. Writes `repository.revoked`. */
  revokeRepository(workspaceId: string, repository: string, revokedBy: string): Promise<boolean>;
  /** Case-insensitive, as GitHub names are. */
  getRepository(workspaceId: string, repository: string): Promise<RepositoryPermission | null>;
  listRepositories(workspaceId: string): Promise<RepositoryPermission[]>;

  /**
   * Stores a session (by its token's hash) that lives `ttlMs` on the store's clock, writes
   * `auth.oidc_token_exchange_success`, and purges a few expired sessions.
   */
  createSession(input: NewOidcSession): Promise<OidcSession>;
  /** The live session with this hash whose repository is still allowed, with its permission. */
  findSession(tokenHash: string): Promise<{ session: OidcSession; permission: RepositoryPermission } | null>;
}

export interface AllowRepositoryInput {
  readonly workspaceId: string;
  /** `owner/repo`, as the admin typed it (kept for display; matched case-insensitively). */
  readonly repository: string;
  readonly keyGlobs: readonly string[];
  readonly mayForce: boolean;
  readonly allowedBy: string;
}

export interface RepositoryPermission {
  readonly workspaceId: string;
  readonly repository: string;
  readonly keyGlobs: readonly string[];
  readonly mayForce: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly allowedBy: string;
}

export interface NewOidcSession {
  readonly workspaceId: string;
  readonly tokenHash: string;
  /** `owner/repo` as the token's `repository` claim spells it. */
  readonly repository: string;
  /** Run facts from the token (run id, workflow, actor…), shown with the locks it takes. */
  readonly details: JsonObject;
  readonly ttlMs: number;
}

export interface OidcSession {
  readonly workspaceId: string;
  readonly repository: string;
  readonly details: JsonObject;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}
