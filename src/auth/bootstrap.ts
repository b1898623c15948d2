import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LockStore, Workspace } from '../store/lock-store.js';
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
  // Write the file before the hash is stored: a crash in between leaves a file to retry with, never a lost token.
  writeFileSync(path, token + '\n', { mode: 0o600 });
  chmodSync(path, 0o600);
  await store.createToken({
    workspaceId: workspace.id,
    name: 'admin',
    tokenHash: hashToken(token),
    scopes: ['admin'],
    createdBy: 'system',
  });
  return { workspace, adminTokenPath: path };
}

export function adminTokenPath(dataDir: string): string {
  return join(dataDir, ADMIN_TOKEN_FILE);
}

