import type { Waiter } from '../core/ports/leases.js';

/** A lock_waiters row as either backend returns it: times as epoch ms (SQLite) or Dates (pg). */
export interface WaiterRow {
  seq: number | string;
  id: string;
  workspace_id: string;
  key: string;
  principal: string;
  holder_id: string | null;
  message: string;
  since: number | Date;
  lease_expires_at: number | Date;
}

export function toWaiter(r: WaiterRow): Waiter {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    key: r.key,
    seq: Number(r.seq),
    holder: { principal: r.principal, holderId: r.holder_id },
    message: r.message,
    since: new Date(r.since),
    leaseExpiresAt: new Date(r.lease_expires_at),
  };
}
