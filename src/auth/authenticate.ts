import { DomainError } from '../core/errors.js';
import { isScope, type Principal } from '../core/types.js';
import type { ApiTokenRecord, LockStore } from '../core/ports/locks.js';
import { hashToken } from './tokens.js';

/** Something that turns a bearer token into a principal (API tokens; OIDC sessions plug in here). */
export type BearerResolver = (token: string) => Promise<Principal | null>;

export function apiTokenResolver(store: LockStore): BearerResolver {
  return async (token) => {
    const record = await store.findTokenByHash(hashToken(token));
    return record ? principalOfToken(record) : null;
  };
}

/** The principal an API token stands for; null once it is revoked. */
export function principalOfToken(record: ApiTokenRecord): Principal | null {
  if (record.revokedAt) return null;
  return {
    workspaceId: record.workspaceId,
    name: `token:${record.name}`,
    kind: 'token',
    scopes: new Set(record.scopes.filter(isScope)),
    details: null,
  };
}

/** Tries each resolver in turn; the first that knows the token wins. */
export function authenticator(resolvers: BearerResolver[]) {
  return async (authorization: string | undefined): Promise<Principal> => {
    if (!authorization) {
      throw new DomainError('Unauthorized', 'missing bearer token: send "Authorization: Bearer <token>" (CLI: --token, STACKLOCK_TOKEN, `stacklock login`, or --data-dir of a local server)');
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) {
      throw new DomainError('Unauthorized', 'malformed Authorization header: expected "Bearer <token>"');
    }
    const token = m[1] as string;
    for (const resolve of resolvers) {
      const principal = await resolve(token);
      if (principal) return principal;
    }
    throw new DomainError('Unauthorized', 'invalid, expired or revoked token');
  };
}

export type Authenticate = ReturnType<typeof authenticator>;
