import type { AuditAction, AuditEvent } from '../../core/audit.js';
import type { JsonObject, Lock, Scope } from '../../core/types.js';
import type { ApiTokenRecord, Workspace } from '../../core/ports/locks.js';

/** Rows as node-postgres returns them: timestamptz → Date, jsonb → parsed, bigint → number (see pool.ts). */
export interface LockRow {
  workspace_id: string;
  key: string;
  id: string;
  principal: string;
  holder_id: string | null;
  message: string;
  token: number;
  acquired_at: Date;
  updated_at: Date;
  expires_at: Date;
  properties: JsonObject | null;
  details: JsonObject | null;
  /** `to_jsonb` of the expired row this grant replaced: times are strings there. */
  replaced?: Record<string, unknown> | null;
}

export interface EventRow {
  id: number;
  workspace_id: string;
  at: Date;
  action: string;
  actor: string;
  key: string | null;
  token: number | null;
  details: Record<string, unknown> | null;
}

export interface WorkspaceRow {
  id: string;
  name: string;
  created_at: Date;
}

export interface TokenRow {
  id: string;
  workspace_id: string;
  name: string;
  scopes: Scope[];
  created_by: string;
  created_at: Date;
  revoked_at: Date | null;
}

export function toLock(r: LockRow): Lock {
  return {
    workspaceId: r.workspace_id,
    key: r.key,
    id: r.id,
    holder: { principal: r.principal, holderId: r.holder_id },
    message: r.message,
    token: Number(r.token),
    acquiredAt: new Date(r.acquired_at),
    updatedAt: new Date(r.updated_at),
    expiresAt: new Date(r.expires_at),
    properties: r.properties ?? null,
    details: r.details ?? null,
  };
}

/** The replaced row as `to_jsonb` wrote it (same column names, times as ISO strings). */
export function toReplacedLock(json: Record<string, unknown>): Lock {
  return toLock(json as unknown as LockRow);
}

export function toEvent(r: EventRow): AuditEvent {
  return {
    id: Number(r.id),
    workspaceId: r.workspace_id,
    at: r.at,
    action: r.action as AuditAction,
    actor: r.actor,
    key: r.key,
    token: r.token === null ? null : Number(r.token),
    details: r.details ?? null,
  };
}

export function toWorkspace(r: WorkspaceRow): Workspace {
  return { id: r.id, name: r.name, createdAt: r.created_at };
}

export function toToken(r: TokenRow): ApiTokenRecord {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    name: r.name,
    scopes: r.scopes,
    createdBy: r.created_by,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  };
}
