import type { AuditAction, NewAuditEvent } from './audit.js';
import type { Dispatch } from './dispatch.js';

/** The audit event of a dispatch's state change; backends write it in the change's transaction. */
export function dispatchEvent(action: AuditAction, d: Dispatch, actor: string, extra: Record<string, unknown> = {}): NewAuditEvent {
  return {
    workspaceId: d.workspaceId,
    action,
    actor,
    key: d.key,
    token: d.blockedBy?.token ?? null,
    details: {
      dispatchId: d.id,
      repository: d.repository,
      workflow: d.workflow,
      ref: d.ref,
      pullRequest: d.pullRequest,
      headSha: d.headSha,
      state: d.state,
      ...(d.reason ? { reason: d.reason } : {}),
      ...extra,
    },
  };
}
