import { sql as lockFunctions } from './0018-lock-functions.js';
import { sql as batchWithoutJoins } from './0020-batch-without-joins.js';

/**
 * PostgreSQL only. A force unlock is audited as one, and a reason given to a release is kept:
 *
 * - a release op may carry `auditForce` (the caller asked for a force and may force): then even the
 *   caller's own lock is released as `lock.force_deleted` (an admin or a shared CI token forcing a
 *   lock it holds itself used to be audited as a plain `lock.deleted`, its reason dropped);
 * - `lock.deleted` carries `reason` when one was given.
 *
 * The three functions that release are those of migrations 0018 (stacklock_release,
 * stacklock_apply, since renamed stacklock_apply_each) and 0020 (stacklock_apply), re-created here
 * with exactly these edits, so that what changed is this file and nothing else. Names and result
 * types stay: replicas of the previous version keep calling stacklock_apply(jsonb), and an op
 * without `auditForce` is released as before.
 */

/** `text` with each `from` (present exactly once) replaced by its `to`. */
function edited(text: string, edits: ReadonlyArray<readonly [string, string]>): string {
  return edits.reduce((out, [from, to]) => {
    const at = out.indexOf(from);
    if (at < 0 || out.indexOf(from, at + 1) >= 0) throw new Error(`migration 0021: expected exactly one ${JSON.stringify(from)}`);
    return out.slice(0, at) + to + out.slice(at + from.length);
  }, text);
}

/** The statement of `text` from `start` up to (not including) `end`. */
function between(text: string, start: string, end: string): string {
  const from = text.indexOf(start);
  const to = end ? text.indexOf(end, from) : text.length;
  if (from < 0 || to < 0) throw new Error(`migration 0021: ${start} not found`);
  return text.slice(from, to);
}

const OWN_RELEASE_DETAILS = [
  "CASE WHEN is_own THEN '{}'::jsonb ELSE jsonb_build_object('reason', p_reason) END",
  "CASE WHEN is_own AND p_reason IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('reason', p_reason) END",
] as const;

const release = edited(between(lockFunctions, 'CREATE FUNCTION stacklock_release(', 'CREATE FUNCTION stacklock_apply(ops jsonb)'), [
  ['p_force boolean, p_reason text)', 'p_force boolean, p_reason text, p_audit_force boolean DEFAULT false)'],
  ['is_own := d.principal = p_principal AND (p_holder IS NULL OR d.holder_id = p_holder);',
   'is_own := d.principal = p_principal AND (p_holder IS NULL OR d.holder_id = p_holder) AND NOT p_audit_force;'],
  OWN_RELEASE_DETAILS,
]);

const applyEach = edited(between(lockFunctions, 'CREATE FUNCTION stacklock_apply(ops jsonb)', ''), [
  ['CREATE FUNCTION stacklock_apply(ops jsonb)', 'CREATE OR REPLACE FUNCTION stacklock_apply_each(ops jsonb)'],
  ["(op->>'force')::boolean, op->>'reason') r;", "(op->>'force')::boolean, op->>'reason',\n                               coalesce((op->>'auditForce')::boolean, false)) r;"],
]);

const apply = edited(batchWithoutJoins, [
  ["AS own,\n              o.v->>'principal' AS caller",
   "AND NOT coalesce((o.v->>'auditForce')::boolean, false) AS own,\n              o.v->>'principal' AS caller"],
  ["CASE WHEN r.own THEN '{}'::jsonb ELSE jsonb_build_object('reason', r.reason) END",
   "CASE WHEN r.own AND r.reason IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('reason', r.reason) END"],
]);

export const sql = `
-- A default for the new argument: stacklock_apply_each's callers of six arguments resolve to it.
DROP FUNCTION stacklock_release(text, text, text, text, boolean, text);
${release}
${applyEach}
${apply}
`;
