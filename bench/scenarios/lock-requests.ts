import type { Request } from 'autocannon';

/**
 * The request sequences each autocannon connection repeats. Keys come from one counter per
 * sequence, so "distinct keys" really are distinct for the whole run.
 */

const json = { 'content-type': 'application/json' };

export function whoami(): Request[] {
  return [{ method: 'GET', path: '/api/v1/whoami' }];
}

interface KeyContext {
  key?: string;
  holderId?: string;
  status?: number;
}

const releasePath = (ctx: KeyContext) =>
  `/api/v1/locks/${encodeURIComponent(ctx.key as string)}?holderId=${encodeURIComponent(ctx.holderId as string)}`;

/** POST /api/v1/locks for the key and holderId `choose` puts in the connection's context. */
function acquireStep(choose: (ctx: KeyContext) => void): Request {
  return {
    method: 'POST',
    path: '/api/v1/locks',
    headers: json,
    setupRequest: (req, context) => {
      const ctx = context as KeyContext;
      choose(ctx);
      return { ...req, body: JSON.stringify({ key: ctx.key, ttlMs: 600_000, message: 'bench', holderId: ctx.holderId }) };
    },
  };
}

/** Lock a key no one else uses, then unlock it: two operations, each one durable write. */
export function lockUnlockDistinct(run: string): Request[] {
  let n = 0;
  return [
    acquireStep((ctx) => {
      ctx.key = `bench/${run}/${n++}`;
      ctx.holderId = ctx.key;
    }),
    { method: 'DELETE', setupRequest: (req, context) => ({ ...req, path: releasePath(context as KeyContext) }) },
  ];
}

/** Acquire only, on distinct keys, with a TTL (absolute deadline when `deadline` is given). */
export function acquireDistinct(keyOf: (n: number) => string, ttl: { ms?: number; deadline?: number }): Request[] {
  let n = 0;
  return [
    {
      method: 'POST',
      path: '/api/v1/locks',
      headers: json,
      setupRequest: (req) => {
        const key = keyOf(n++);
        const ttlMs = ttl.deadline !== undefined ? Math.max(1000, Math.round(ttl.deadline - Date.now())) : (ttl.ms ?? 3_600_000);
        return { ...req, body: JSON.stringify({ key, ttlMs, message: 'bench', holderId: key }) };
      },
    },
  ];
}

export interface ContentionCounts {
  grants: number;
  refusals: number;
  /** Fencing tokens seen twice: must stay 0 (every grant gets a new one). */
  duplicateTokens: number;
}

/**
 * Every connection tries a random one of `keys` keys under a fresh holderId; on a grant it
 * releases, on a refusal (409 LockHeld) it tries again.
 */
export function contention(run: string, keys: number, counts: ContentionCounts): Request[] {
  let n = 0;
  const tokens = new Set<number>();
  return [
    {
      ...acquireStep((ctx) => {
        ctx.key = `contended/${run}/${Math.floor(Math.random() * keys)}`;
        ctx.holderId = `holder-${n++}`;
      }),
      onResponse: (status, body, context) => {
        (context as KeyContext).status = status;
        if (status === 409) counts.refusals++;
        if (status !== 201) return;
        counts.grants++;
        const token = (JSON.parse(body) as { data: { token: number } }).data.token;
        if (tokens.has(token)) counts.duplicateTokens++;
        tokens.add(token);
      },
    },
    {
      method: 'DELETE',
      // Only the holder releases; after a refusal the sequence starts over (autocannon's reset).
      setupRequest: (req, context) => ((context as KeyContext).status === 201 ? { ...req, path: releasePath(context as KeyContext) } : null) as never,
    },
  ];
}
