/**
 * Glossary (see SPEC.md "Words"):
 * - workspace: a tenant; every lock, token, repository and event belongs to exactly one.
 * - key: the thing locked, 1–512 characters, no control characters, never split on `/`.
 * - principal: who calls, e.g. `token:deployer` (an API token, by name) or `repo:acme/infra`
 *   (a GitHub Actions OIDC session: the repository is the principal).
 * - holder: principal + optional holderId (free text such as a run URL) given at acquire.
 * - fencing token: per-workspace integer, strictly increasing with every grant (not renewal).
 * - TTL: how long a grant lives, measured on the store's clock only.
 */

import type { KeyGlobs } from './key-glob.js';

export interface Holder {
  /** `token:<name>` or `repo:<owner>/<repo>`. */
  readonly principal: string;
  /** Free text chosen by the caller; null when none was given (such an acquire never renews). */
  readonly holderId: string | null;
}

export type JsonObject = { [k: string]: unknown };

export interface Lock {
  readonly workspaceId: string;
  readonly key: string;
  /** Unique per grant; stays the same across renewals. */
  readonly id: string;
  readonly holder: Holder;
  readonly message: string;
  /** The fencing token of this grant. */
  readonly token: number;
  readonly acquiredAt: Date;
  readonly updatedAt: Date;
  readonly expiresAt: Date;
  /** Caller-supplied properties (atmos may send some). */
  readonly properties: JsonObject | null;
  /** Facts about the principal shown to others: run id, workflow, actor. */
  readonly details: JsonObject | null;
}

/** Who is calling, after authentication. */
export interface Principal {
  readonly workspaceId: string;
  /** `token:<name>` or `repo:<owner>/<repo>`. */
  readonly name: string;
  readonly kind: 'token' | 'oidc';
  readonly scopes: ReadonlySet<Scope>;
  readonly details: JsonObject | null;
  /**
   * The keys this principal may lock or force-release, when it is limited to some (a repository
   * allowed in a workspace: by default `<owner>/<repo>/**`). Absent: every key its scopes allow.
   */
  readonly keys?: KeyGlobs | null;
}

export const SCOPES = ['locks:write', 'locks:force', 'dispatches:write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}

/** `admin` implies every other scope. */
export function hasScope(p: Principal, scope: Scope): boolean {
  return p.scopes.has(scope) || p.scopes.has('admin');
}
