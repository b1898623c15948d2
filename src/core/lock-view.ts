import type { Waiter } from './ports/leases.js';
import type { Lock } from './types.js';

/**
 * The public JSON shape of a lock, used by the API, error contexts and the CLI.
 * It carries stacklock's own names and the ones the atmos CLI decodes
 * (`lockMessage`, `workspaceId`, `createdAt`, `updatedAt`, `deletedAt`): all times are
 * RFC 3339 strings, `deletedAt` is null for a live lock.
 */
export interface LockView {
  id: string;
  workspaceId: string;
  key: string;
  holder: { principal: string; holderId: string | null; details: Record<string, unknown> | null };
  message: string;
  lockMessage: string;
  token: number;
  acquiredAt: string;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  deletedAt: string | null;
  properties: Record<string, unknown> | null;
}

export function lockView(lock: Lock, deletedAt: Date | null = null): LockView {
  return {
    id: lock.id,
    workspaceId: lock.workspaceId,
    key: lock.key,
    holder: { principal: lock.holder.principal, holderId: lock.holder.holderId, details: lock.details },
    message: lock.message,
    lockMessage: lock.message,
    token: lock.token,
    acquiredAt: lock.acquiredAt.toISOString(),
    createdAt: lock.acquiredAt.toISOString(),
    updatedAt: lock.updatedAt.toISOString(),
    expiresAt: lock.expiresAt.toISOString(),
    deletedAt: deletedAt ? deletedAt.toISOString() : null,
    properties: lock.properties,
  };
}

/** A waiter as the API shows it: its place in line (1 = next), who, why, and since when. */
export interface WaiterView {
  position: number;
  holder: { principal: string; holderId: string | null };
  message: string;
  since: string;
}

export function waiterView(w: Waiter, position: number): WaiterView {
  return { position, holder: { principal: w.holder.principal, holderId: w.holder.holderId }, message: w.message, since: w.since.toISOString() };
}
