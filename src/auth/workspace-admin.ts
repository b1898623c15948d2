import { DomainError } from '../core/errors.js';
import { defaultRepositoryGlob, validateKeyGlob } from '../core/key-glob.js';
import { requireScope } from '../core/lock-service.js';
import { hasScope, type Principal } from '../core/types.js';
import type { Workspace } from '../core/ports/locks.js';
import type { Store } from '../core/ports/store.js';
import { DEFAULT_WORKSPACE } from './bootstrap.js';

/**
 * Who administers what. A token with `admin` administers its own workspace (tokens, allowed
 * repositories). The server admin, a token with `admin` in the bootstrap workspace `default`
 * (the one `<data dir>/admin-token` holds), also creates workspaces and administers any of them.
 */
export async function isServerAdmin(store: Store, caller: Principal): Promise<boolean> {
  if (caller.kind !== 'token' || !hasScope(caller, 'admin')) return false;
  const home = await store.getWorkspace(DEFAULT_WORKSPACE);
  return home !== null && home.id === caller.workspaceId;
}

export async function requireServerAdmin(store: Store, caller: Principal, what: string): Promise<void> {
  if (!(await isServerAdmin(store, caller))) {
    throw new DomainError('Forbidden', `${what} needs the server admin: a token with admin in the '${DEFAULT_WORKSPACE}' workspace`);
  }
}

/**
 * The workspace an admin request is about: the caller's own when `requested` is absent or names
 * it (needs admin there), any other only for the server admin. Another workspace that does not
 * exist is NotFound for the server admin and Forbidden for anyone else, who learns nothing.
 */
export async function adminWorkspace(store: Store, caller: Principal, requested: string | undefined): Promise<Workspace> {
  requireScope(caller, 'admin');
  const own = await store.getWorkspace(caller.workspaceId);
  if (!own) throw new DomainError('Unauthorized', 'the workspace of this token no longer exists');
  if (requested === undefined || requested === own.id || requested === own.name) return own;
  await requireServerAdmin(store, caller, 'administering another workspace');
  const other = await store.getWorkspace(requested);
  if (!other) throw new DomainError('NotFound', `no workspace '${requested}'`);
  return other;
}

const WORKSPACE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Names are looked up next to ids, so a name can never look like one. */
export function validateWorkspaceName(name: string): string {
  if (!WORKSPACE_NAME.test(name) || UUID.test(name)) {
    throw new DomainError('ValidationError', 'workspace name: 1–63 letters, digits, ".", "_" or "-", starting with a letter or digit, and not a UUID');
  }
  return name;
}

/** GitHub's `owner/repo`. */
export const REPOSITORY_NAME = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;

export function validateRepository(repository: string): string {
  if (!REPOSITORY_NAME.test(repository)) {
    throw new DomainError('ValidationError', `'${repository}' is not a GitHub repository: use owner/repo`);
  }
  return repository;
}

/** The globs a repository gets: those given (at most 100), or the keys atmos builds for it. */
export function repositoryKeyGlobs(repository: string, keys: readonly unknown[] | undefined): string[] {
  if (keys === undefined || keys.length === 0) return [defaultRepositoryGlob(repository)];
  if (keys.length > 100) throw new DomainError('ValidationError', 'at most 100 key globs per repository');
  return [...new Set(keys.map(validateKeyGlob))];
}
