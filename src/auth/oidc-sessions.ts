import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { DomainError } from '../core/errors.js';
import { KeyGlobs } from '../core/key-glob.js';
import type { Principal, Scope } from '../core/types.js';
import type { RepositoryPermission } from '../core/ports/access.js';
import type { Store } from '../core/ports/store.js';
import type { BearerResolver } from './authenticate.js';
import type { VerifyActionsToken } from './github-oidc.js';
import { hashToken } from './tokens.js';
import { REPOSITORY_NAME } from './workspace-admin.js';

/** Session tokens look like `sls_<43 base64url chars>`; only their SHA-256 is stored. */
export const SESSION_PREFIX = 'sls_';

export interface ExchangeResult {
  readonly token: string;
  readonly expiresAt: Date;
  readonly workspaceId: string;
  readonly principal: string;
}

/**
 * `POST /auth/github-oidc`: a GitHub Actions OIDC token, verified, becomes a short-lived
 * session whose principal is the repository, when that repository is allowed in the workspace.
 * Every outcome in an existing workspace is audited (`auth.oidc_token_exchange_success|failure`).
 */
export class OidcExchange {
  constructor(
    private readonly store: Store,
    private readonly verify: VerifyActionsToken,
    private readonly sessionTtlMs: number,
  ) {}

  async exchange(jwt: string, workspaceRef: string): Promise<ExchangeResult> {
    const workspace = await this.store.getWorkspace(workspaceRef);
    let identity;
    try {
      identity = await this.verify(jwt);
    } catch (error) {
      if (workspace && error instanceof DomainError && error.tag === 'Unauthorized') {
        await this.recordFailure(workspace.id, error.message, unverifiedRepository(jwt), false);
      }
      throw error;
    }
    if (!workspace) {
      throw new DomainError('NotFound', `no workspace '${workspaceRef}': set ATMOS_PRO_WORKSPACE_ID to a workspace id from \`stacklock workspace list\``);
    }
    const permission = await this.store.access.getRepository(workspace.id, identity.repository);
    if (!permission) {
      const message = `repository ${identity.repository} is not allowed in workspace '${workspace.name}': an admin runs \`stacklock repo allow ${identity.repository} --workspace ${workspace.name}\``;
      await this.recordFailure(workspace.id, message, identity.repository, true);
      throw new DomainError('Forbidden', message, { repository: identity.repository, workspace: workspace.name });
    }
    const token = SESSION_PREFIX + randomBytes(32).toString('base64url');
    const session = await this.store.access.createSession({
      workspaceId: workspace.id,
      tokenHash: hashToken(token),
      repository: identity.repository,
      details: identity.details,
      ttlMs: this.sessionTtlMs,
    });
    return { token, expiresAt: session.expiresAt, workspaceId: workspace.id, principal: `repo:${identity.repository}` };
  }

  private recordFailure(workspaceId: string, reason: string, repository: string | null, verified: boolean): Promise<void> {
    return this.store.appendEvent({
      workspaceId,
      action: 'auth.oidc_token_exchange_failure',
      actor: repository ? `repo:${repository}` : 'anonymous',
      // The repository claimed by a token that failed verification is only a claim: said so.
      details: { reason, repository, verified },
    });
  }
}

/** The repository a rejected token claims, kept for the audit only when it looks like one. */
function unverifiedRepository(jwt: string): string | null {
  try {
    const claim = decodeJwt(jwt).repository;
    return typeof claim === 'string' && REPOSITORY_NAME.test(claim) ? claim : null;
  } catch {
    return null;
  }
}

/** The principal of a session: its repository, limited to the keys (and force) it is allowed. */
export function repositoryPrincipal(workspaceId: string, repository: string, details: Principal['details'], permission: RepositoryPermission): Principal {
  const scopes = new Set<Scope>(['locks:write']);
  if (permission.mayForce) scopes.add('locks:force');
  return { workspaceId, name: `repo:${repository}`, kind: 'oidc', scopes, details, keys: new KeyGlobs(permission.keyGlobs) };
}

/**
 * Turns a session token into its principal. The repository's permission is read live, so a
 * revoked repository or changed globs take effect on the next request, not at session expiry.
 */
export function oidcSessionResolver(store: Store): BearerResolver {
  return async (token) => {
    if (!token.startsWith(SESSION_PREFIX)) return null;
    const found = await store.access.findSession(hashToken(token));
    if (!found) return null;
    return repositoryPrincipal(found.session.workspaceId, found.session.repository, found.session.details, found.permission);
  };
}
