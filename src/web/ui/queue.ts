/**
 * The waiting line of a key, where the server reports one: `GET /api/v1/locks/{key}` answers
 * `queue: [{position, holder: {principal, holderId}, message, since}]` once fair waiting
 * (issue 5) is there. A server without waiting reports none, and the dashboard then shows no
 * queue at all rather than an empty one.
 */
export interface Waiter {
  position: number;
  who: string;
  holderId: string | null;
  message: string;
  since: string | null;
}

export function waitersOf(view: unknown): Waiter[] | null {
  const raw = (view as { queue?: unknown } | null)?.queue;
  if (!Array.isArray(raw)) return null;
  return raw.map((w: { position?: number; holder?: { principal?: string; holderId?: string | null }; message?: string; since?: string }, i) => ({
    position: typeof w.position === 'number' ? w.position : i + 1,
    who: w.holder?.principal ?? '',
    holderId: w.holder?.holderId ?? null,
    message: w.message ?? '',
    since: w.since ?? null,
  }));
}
