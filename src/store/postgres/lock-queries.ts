import type { NewAuditEvent } from '../../core/audit.js';

/**
 * The lock statements. Each decision is one statement that also writes its audit events, so the
 * change and its record commit together. They send no NOTIFY: a transaction that notifies holds
 * PostgreSQL's global notify lock through its commit, WAL flush included, so every change would
 * commit one at a time. The change feed announces committed changes instead (change-feed.ts).
 *
 * Time is the database's: NOW is the statement's start time truncated to milliseconds. It can
 * only lag the real time of the decision (a statement may wait for a row lock), which makes a
 * live lock look live a little longer, never a live lock look expired.
 */
export const NOW = `date_trunc('milliseconds', statement_timestamp())`;
export const CHANNEL = 'stacklock_changes';

/** One audit event written on its own (not inside a lock statement); its values: eventParams. */
export const INSERT_EVENT_SQL = `INSERT INTO events (workspace_id, at, action, actor, key, token, details) VALUES ($1, ${NOW}, $2, $3, $4, $5, $6::jsonb)`;
export const eventParams = (e: NewAuditEvent): unknown[] => [
  e.workspaceId, e.action, e.actor, e.key ?? null, e.token ?? null, e.details ? JSON.stringify(e.details) : null,
];

/**
 * The WHERE of a filtered listing: the conditions whose value is defined, joined by AND, each `?`
 * numbered as a parameter; the next parameter's number is params.length + 1.
 */
export function whereDefined(conditions: ReadonlyArray<readonly [string, unknown]>): { where: string; params: unknown[] } {
  const params: unknown[] = [];
  const parts: string[] = [];
  for (const [sql, value] of conditions) {
    if (value === undefined) continue;
    params.push(value);
    parts.push(sql.replace('?', `$${params.length}`));
  }
  return { where: parts.join(' AND '), params };
}

export const iso = (ts: string) => `to_char(${ts} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
export const ms = (param: string) => `(${param}::bigint * interval '1 millisecond')`;

/**
 * Acquires and releases (SPEC rules 1 and 2), several in one statement and one transaction:
 * stacklock_apply (migration 0018, where the functions are described; migrations 0019 and 0020
 * settle a batch's new grants and releases in one statement), $1 a JSON array of operations
 * (lock-batcher.ts). Fencing tokens come from one sequence per workspace (migration
 * 0017), drawn only while the grant holds a transaction-scoped advisory lock on its key until its
 * commit, so a key's grants draw in their commit order; grants of different keys do not wait for
 * one another and share WAL flushes. Tokens are unique in the workspace and may skip numbers.
 */
export const APPLY_SQL = 'SELECT * FROM stacklock_apply($1::jsonb)';

/**
 * FAULT INJECTION FOR TESTS ONLY (the history checker's own test): a rule that always holds, put
 * ahead of stacklock_grantable on the search path of the transactions that acquire with it.
 * Replicas starting at once take turns (an advisory lock) to create it.
 */
export const UNSAFE_RULE_SQL = `
BEGIN;
SELECT pg_advisory_xact_lock(7318420018);
CREATE SCHEMA IF NOT EXISTS stacklock_unsafe;
CREATE OR REPLACE FUNCTION stacklock_unsafe.stacklock_grantable(timestamptz, text, text, timestamptz, text, text, bigint, boolean)
RETURNS boolean LANGUAGE sql STABLE AS 'SELECT true';
COMMIT`;
export const UNSAFE_SEARCH_PATH_SQL = 'SET LOCAL search_path TO stacklock_unsafe, public';

/**
 * Whether the key has queued dispatches (LockChange.activeDispatches), an index probe of
 * dispatches_queue, so the dispatcher is not asked to look after every lock change.
 */
function activeDispatches(workspace: string, key: string): string {
  return `EXISTS (SELECT 1 FROM dispatches q WHERE q.workspace_id = ${workspace} AND q.key = ${key}
                 AND q.state IN ('waiting_for_lock', 'dispatching'))`;
}

/**
 * After a refusal the acquire statement did not explain (the line held the caller back, or the key
 * changed hands during it): the lock that blocks the key (held, or in its lock-delay), else the
 * waiters ahead of the caller and whether the caller's waiter ($6) is still in line; and the
 * lock.denied event when $7 asks for it and something does block.
 * $3 principal, $4 holderId, $5 lock-delay ms.
 */
export const DENIED_SQL = `
WITH cur AS (
  SELECT * FROM locks WHERE workspace_id = $1 AND key = $2 AND expires_at + ${ms('$5')} > ${NOW}
), line AS (
  SELECT (SELECT seq FROM lock_waiters WHERE id = $6::text AND lease_expires_at > ${NOW}) AS me,
         (SELECT count(*)::int FROM lock_waiters q WHERE q.workspace_id = $1 AND q.key = $2 AND q.lease_expires_at > ${NOW}
            AND q.seq < coalesce((SELECT seq FROM lock_waiters WHERE id = $6::text), 9223372036854775807)) AS ahead
), ev AS (
  INSERT INTO events (workspace_id, at, action, actor, key, token, details)
  SELECT $1, ${NOW}, 'lock.denied', $3, $2, cur.token,
         CASE WHEN cur.key IS NOT NULL
              THEN jsonb_build_object('holderId', $4::text, 'heldBy', cur.principal, 'heldByHolderId', cur.holder_id)
              ELSE jsonb_build_object('holderId', $4::text, 'waitersAhead', line.ahead) END
  FROM line LEFT JOIN cur ON true
  WHERE $7::boolean AND (cur.key IS NOT NULL OR line.ahead > 0)
)
SELECT (SELECT to_jsonb(cur) FROM cur) AS lock, line.me, line.ahead, ${NOW} AS now FROM line`;

export const LIVE_LOCK_SQL = `SELECT * FROM locks WHERE workspace_id = $1 AND key = $2 AND expires_at > ${NOW}`;

/**
 * Frees up to $2 locks expired more than $1 ms ago (the lock-delay), oldest first, through the
 * expires_at index. SKIP LOCKED: replicas reaping at once take disjoint rows, and a row being
 * renewed is left alone; the outer condition re-checks the row's latest version.
 */
export const REAP_SQL = `
WITH d AS (
  DELETE FROM locks
  WHERE (workspace_id, key) IN (
    SELECT workspace_id, key FROM locks WHERE expires_at <= ${NOW} - ${ms('$1')}
    ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
    AND expires_at <= ${NOW} - ${ms('$1')}
  RETURNING *
), ev AS (
  INSERT INTO events (workspace_id, at, action, actor, key, token, details)
  SELECT d.workspace_id, ${NOW}, 'lock.expired', 'system', d.key, d.token,
         jsonb_build_object('holder', d.principal, 'holderId', d.holder_id, 'message', d.message,
                            'expiresAt', ${iso('d.expires_at')})
  FROM d ORDER BY d.expires_at
  RETURNING id, workspace_id, key
)
SELECT d.*, ARRAY[ev.id] AS event_ids, ${activeDispatches('d.workspace_id', 'd.key')} AS active_dispatches
FROM d JOIN ev ON ev.workspace_id = d.workspace_id AND ev.key = d.key
ORDER BY d.expires_at`;

export const LIST_SQL = `
SELECT * FROM locks
WHERE workspace_id = $1 AND key >= $2 AND key < $3 AND key > $4 AND expires_at + ${ms('$6')} > ${NOW}
ORDER BY key LIMIT $5`;
