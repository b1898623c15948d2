import type { FencedCounter } from './fenced-resource.js';
import type { Op } from './history.js';

export interface Violation {
  readonly check: 'token-order' | 'overlap' | 'lost-update';
  readonly key: string;
  readonly message: string;
}

export interface CheckReport {
  /** Acquire, renew and release operations looked at. */
  readonly operations: number;
  readonly outcomes: Record<Op['outcome'], number>;
  /** Distinct grants (key, holder, token) with a definite holding interval. */
  readonly grants: number;
  readonly violations: Violation[];
}

/**
 * What is certainly known about one grant (key, holderId, token): it was held throughout
 * [start, end). Evidence: an ok acquire or renewal (held from its completion to the expiry it
 * returned), and a refusal of someone else naming it (held from the refusal's completion, at the
 * latest, to the expiry the refusal showed). That last kind is how an acquire whose outcome was
 * unknown counts as possibly granted: once anyone sees it hold the key, it is a grant like any other.
 * The holder's first release ends the certainty at that release's invocation.
 */
interface Grant {
  readonly key: string;
  readonly holderId: string;
  readonly token: number;
  start: number;
  end: number;
}

export function checkHistory(ops: readonly Op[], resources: ReadonlyMap<string, FencedCounter> = new Map()): CheckReport {
  const outcomes = { ok: 0, refused: 0, fail: 0, unknown: 0 };
  for (const op of ops) outcomes[op.outcome]++;
  const byKey = new Map<string, Op[]>();
  for (const op of ops) byKey.set(op.key, [...(byKey.get(op.key) ?? []), op]);
  const violations: Violation[] = [];
  let grants = 0;
  for (const [key, keyOps] of byKey) {
    violations.push(...checkTokenOrder(key, keyOps));
    const g = definiteGrants(key, keyOps);
    grants += g.length;
    violations.push(...checkOverlap(key, g));
  }
  for (const [key, counter] of resources) {
    if (counter.value !== counter.acknowledged) {
      violations.push({
        check: 'lost-update',
        key,
        message: `fenced counter of '${key}' is ${counter.value} after ${counter.acknowledged} acknowledged increments: ${counter.acknowledged - counter.value} lost`,
      });
    }
  }
  return { operations: ops.length, outcomes, grants, violations };
}

/**
 * (a) Per key, fencing tokens strictly increase in real-time order: when an ok acquire A completed
 * before an ok acquire B was invoked, B's token is greater than A's, or equal only when B is the
 * same holder renewing. And no observation (grant, renewal, or the holder a refusal names) ever
 * shows a token lower than one observed before it began.
 */
function checkTokenOrder(key: string, ops: readonly Op[]): Violation[] {
  const seen = ops
    .filter((o) => (o.kind === 'acquire' && o.outcome === 'ok') || o.heldBy)
    .map((o) => ({ op: o, token: (o.outcome === 'ok' ? o.token : o.heldBy?.token) as number, holder: o.outcome === 'ok' ? o.holderId : (o.heldBy?.holderId ?? '') }));
  const byComplete = [...seen].sort((a, b) => a.op.complete - b.op.complete);
  const byInvoke = [...seen].sort((a, b) => a.op.invoke - b.op.invoke);
  const violations: Violation[] = [];
  // Sweep: before each B (by invocation), fold in every observation completed earlier, keeping the
  // highest token and the highest token of a holder other than the highest's.
  let i = 0;
  let top: { token: number; holder: string; op: Op } | null = null;
  let second: { token: number; holder: string; op: Op } | null = null;
  for (const b of byInvoke) {
    while (i < byComplete.length && (byComplete[i] as (typeof seen)[number]).op.complete < b.op.invoke) {
      const a = byComplete[i++] as (typeof seen)[number];
      if (!top || a.token > top.token) {
        if (top && top.holder !== a.holder) second = top;
        top = { token: a.token, holder: a.holder, op: a.op };
      } else if (a.holder !== top.holder && (!second || a.token > second.token)) {
        second = { token: a.token, holder: a.holder, op: a.op };
      }
    }
    if (!top) continue;
    const describe = (x: { token: number; holder: string; op: Op }) => `op ${x.op.id} (${x.holder}, token ${x.token})`;
    if (b.token < top.token) {
      violations.push({ check: 'token-order', key, message: `op ${b.op.id} saw token ${b.token} after ${describe(top)} had completed` });
    } else if (b.op.outcome === 'ok') {
      const rival = top.holder !== b.holder ? top : second;
      if (rival && b.token <= rival.token) {
        violations.push({ check: 'token-order', key, message: `op ${b.op.id} (${b.holder}) was granted token ${b.token}, not above ${describe(rival)} which completed before it began` });
      }
    }
  }
  return violations;
}

function definiteGrants(key: string, ops: readonly Op[]): Grant[] {
  const grants = new Map<string, Grant>();
  const note = (holderId: string, token: number, start: number, end: number) => {
    if (!(end > start)) return;
    const id = `${holderId}\u0000${token}`;
    const g = grants.get(id);
    if (!g) grants.set(id, { key, holderId, token, start, end });
    else {
      g.start = Math.min(g.start, start);
      g.end = Math.max(g.end, end);
    }
  };
  for (const op of ops) {
    if (op.kind === 'acquire' && op.outcome === 'ok') note(op.holderId, op.token as number, op.complete, op.expiresAt as number);
    if (op.heldBy?.holderId) note(op.heldBy.holderId, op.heldBy.token, op.complete, op.heldBy.expiresAt);
  }
  // A holder id belongs to one client's one attempt (acquire, renewals, then release), so its
  // first release, whatever its outcome, may have ended any grant of that holder from then on.
  const firstRelease = new Map<string, number>();
  for (const r of ops) {
    if (r.kind === 'release') firstRelease.set(r.holderId, Math.min(firstRelease.get(r.holderId) ?? Infinity, r.invoke));
  }
  const result: Grant[] = [];
  for (const g of grants.values()) {
    g.end = Math.min(g.end, firstRelease.get(g.holderId) ?? Infinity);
    if (g.end > g.start) result.push(g);
  }
  return result;
}

/** (b) No two holders' definite grants of one key overlap in time. */
function checkOverlap(key: string, grants: Grant[]): Violation[] {
  const sorted = [...grants].sort((a, b) => a.start - b.start);
  const violations: Violation[] = [];
  let active: Grant[] = [];
  for (const g of sorted) {
    active = active.filter((a) => a.end > g.start);
    for (const a of active) {
      if (a.holderId === g.holderId) continue;
      violations.push({
        check: 'overlap',
        key,
        message: `${g.holderId} (token ${g.token}) held '${key}' from ${g.start} while ${a.holderId} (token ${a.token}) held it until ${a.end}: ${Math.min(a.end, g.end) - g.start} ms both`,
      });
    }
    active.push(g);
  }
  return violations;
}
