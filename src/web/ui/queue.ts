/**
 * The waiting queue of a key, where the server reports one (issue 5: `GET /api/v1/locks/{key}`
 * lists waiters with their holder id and since when). Servers without waiting report none, and
 * the dashboard then shows no queue at all rather than an empty one.
 */
export interface Waiter {
  who: string;
  holderId: string | null;
  since: string | null;
}

export function waitersOf(view: unknown): Waiter[] | null {
  if (!view || typeof view !== 'object') return null;
  const raw = (view as { queue?: unknown; waiters?: unknown }).queue ?? (view as { waiters?: unknown }).waiters;
  if (!Array.isArray(raw)) return null;
  return raw.map((w: Record<string, unknown>) => ({
    who: str(w.principal) ?? str((w.holder as Record<string, unknown> | undefined)?.principal) ?? '',
    holderId: str(w.holderId) ?? str((w.holder as Record<string, unknown> | undefined)?.holderId),
    since: str(w.since) ?? str(w.waitingSince) ?? str(w.enqueuedAt) ?? str(w.createdAt),
  }));
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}
