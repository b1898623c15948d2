import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DomainError } from '../core/errors.js';
import type { LockStore, Workspace } from '../core/ports/locks.js';
import { generateToken, hashToken } from './tokens.js';

export const DEFAULT_WORKSPACE = 'default';
export const ADMIN_TOKEN_FILE = 'admin-token';

export interface BootstrapResult {
  readonly workspace: Workspace;
  /** Where the new admin token was written, when this start created one. */
  readonly adminTokenPath: string | null;
}

/**
 * First start: create the workspace `default` and an admin token, written to
 * `<dataDir>/admin-token` with mode 0600. The token itself is never logged.
 */
export async function bootstrap(store: LockStore, dataDir: string): Promise<BootstrapResult> {
  const workspace = await store.ensureWorkspace(DEFAULT_WORKSPACE);
  if ((await store.countTokens(workspace.id)) > 0) {
    return { workspace, adminTokenPath: null };
  }
  const token = generateToken();
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  // The token is on disk before its hash is stored (a crash in between leaves a file holding the
  // token, never a stored hash nobody knows), under a name of its own until its hash is stored:
  // replicas sharing a database (and maybe a data dir) may bootstrap at once, and only the one whose
  // token was stored may publish admin-token.
  const pending = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.pending`;
  writeFileSync(pending, token + '\n', { mode: 0o600 });
  chmodSync(pending, 0o600);
  try {
    await store.createToken({
      workspaceId: workspace.id,
      name: 'admin',
      tokenHash: hashToken(token),
      scopes: ['admin'],
      createdBy: 'system',
    });
  } catch (error) {
    rmSync(pending, { force: true });
    // Another replica created the admin token first: its file is the one to use.
    if (error instanceof DomainError && error.tag === 'Conflict') return { workspace, adminTokenPath: null };
    throw error;
  }
  renameSync(pending, path);
  return { workspace, adminTokenPath: path };
}

export function adminTokenPath(dataDir: string): string {
  return join(dataDir, ADMIN_TOKEN_FILE);
}

