/** Audit event kinds (SPEC "Audit"): every state change appends one; none is ever updated. */
export const AUDIT_ACTIONS = [
  'lock.created',
  'lock.renewed',
  'lock.deleted',
  'lock.force_deleted',
  'lock.expired',
  'lock.denied',
  'workflow.queued',
  'workflow.dispatched',
  'workflow.failed',
  'workflow.superseded',
  'workflow.cancelled',
  'workflow.timed_out',
  'auth.oidc_token_exchange_success',
  'auth.oidc_token_exchange_failure',
  'token.created',
  'token.revoked',
  'workspace.created',
  'repository.allowed',
  'repository.revoked',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export function isAuditAction(s: string): s is AuditAction {
  return (AUDIT_ACTIONS as readonly string[]).includes(s);
}

export interface AuditEvent {
  readonly id: number;
  readonly workspaceId: string;
  readonly at: Date;
  readonly action: AuditAction;
  /** The principal that caused it; `system` for the reaper. */
  readonly actor: string;
  readonly key: string | null;
  readonly token: number | null;
  readonly details: Record<string, unknown> | null;
}

export interface NewAuditEvent {
  readonly workspaceId: string;
  readonly action: AuditAction;
  readonly actor: string;
  readonly key?: string | null;
  readonly token?: number | null;
  readonly details?: Record<string, unknown> | null;
}

export interface AuditQuery {
  readonly workspaceId: string;
  readonly key?: string;
  readonly actor?: string;
  readonly action?: AuditAction;
  readonly since?: Date;
  readonly until?: Date;
  /** Events with id below this (newest first pagination). */
  readonly before?: number;
  readonly limit: number;
}
