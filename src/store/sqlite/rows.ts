import type { AuditAction, AuditEvent } from '../../core/audit.js';
import type { Lock, Scope } from '../../core/types.js';
import type { ApiTokenRecord, Workspace } from '../../core/ports/locks.js';

export interface LockRow {
  workspace_id: string;
  key: string;
  id: string;
  principal: string;
  holder_id: string | null;
  message: string;
  token: number;
  acquired_at: number;
  updated_at: number;
  expires_at: number;
  properties: string | null;
  details: string | null;
}

export interface EventRow {
  id: number;
  workspace_id: string;
  at: number;
  action: string;
  actor: string;
  key: string | null;
  token: number | null;
  details: string | null;
}

export interface WorkspaceRow {
  id: string;
  name: string;
  fence: number;
  created_at: number;
}

export interface TokenRow {
  id: string;
  workspace_id: string;
  name: string;
  token_hash: string;
  scopes: string;
  created_by: string;
  created_at: number;
  revoked_at: number | null;
}

export function toLock(r: LockRow): Lock {
  return {
    workspaceId: r.workspace_id,
    key: r.key,
    id: r.id,
    holder: { principal: r.principal, holderId: r.holder_id },
    message: r.message,
    token: r.token,
    acquiredAt: new Date(r.acquired_at),
    updatedAt: new Date(r.updated_at),
    expiresAt: new Date(r.expires_at),
    properties: r.properties ? JSON.parse(r.properties) : null,
    details: r.details ? JSON.parse(r.details) : null,
  };
}

export function toEvent(r: EventRow): AuditEvent {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    at: new Date(r.at),
    action: r.action as AuditAction,
    actor: r.actor,
    key: r.key,
    token: r.token,
    details: r.details ? JSON.parse(r.details) : null,
  };
}

export function toWorkspace(r: WorkspaceRow): Workspace {
  return { id: r.id, name: r.name, createdAt: new Date(r.created_at) };
}

export function toToken(r: TokenRow): ApiTokenRecord {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    name: r.name,
    scopes: JSON.parse(r.scopes) as Scope[],
    createdBy: r.created_by,
    createdAt: new Date(r.created_at),
    revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at),
  };
}
