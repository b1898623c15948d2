import type { LockView, WaiterView } from '../core/lock-view.js';
import { ordinal } from '../core/lock-rules.js';
import { ApiClient, encodeKey } from './client.js';
import { CliError } from './errors.js';
import { holderText, remaining } from './output.js';

/** What GET /locks/{key} answers for a key someone waits for. */
export interface KeyStatusView extends LockView {
  state: 'held' | 'lock_delay';
  availableAt: string;
  queue: WaiterView[];
}

/** One line for a person waiting: who holds the key and why, and their own place in line. */
export function describeWait(key: string, status: KeyStatusView | null, queue: WaiterView[], holderId: string, now = Date.now()): string {
  const mine = queue.find((w) => w.holder.holderId === holderId);
  const place = mine ? `you are ${ordinal(mine.position)} in line${mine.position > 1 ? ` (${mine.position - 1} ahead)` : ''}` : 'joining the line';
  if (!status) return `waiting for '${key}': not locked; ${place}`;
  const why = status.message ? `: "${status.message}"` : '';
  if (status.state === 'lock_delay') {
    return `waiting for '${key}': ${holderText(status)}'s lock expired; in lock-delay until ${status.availableAt}; ${place}`;
  }
  return `waiting for '${key}': held by ${holderText(status)}${why}, expires ${status.expiresAt} (${remaining(status.expiresAt, now)}); ${place}`;
}

/**
 * While a waiting acquire is pending, polls the key's status and prints a line whenever who holds
 * it or our place in line changes. Returns a function that stops it. Failures to poll are silent:
 * the acquire itself reports what matters.
 */
export function watchWait(client: ApiClient, key: string, holderId: string, print: (line: string) => void, everyMs = 2_000): () => void {
  let stopped = false;
  let last = '';
  let timer: NodeJS.Timeout | null = null;
  const poll = async () => {
    let line: string;
    try {
      const { data } = await client.request<KeyStatusView>('GET', `/api/v1/locks/${encodeKey(key)}`);
      line = describeWait(key, data, data.queue ?? [], holderId);
    } catch (e) {
      if (!(e instanceof CliError && e.tag === 'LockNotFound')) line = last;
      else line = describeWait(key, null, ((e.context?.queue as WaiterView[] | undefined) ?? []), holderId);
    }
    // Times left change every poll; print when anything but the countdown changed.
    const gist = line.replace(/ \(in [^)]*\)/, '');
    if (!stopped && gist !== last) {
      last = gist;
      print(line);
    }
    if (!stopped) timer = setTimeout(poll, everyMs).unref();
  };
  timer = setTimeout(poll, Math.min(500, everyMs)).unref();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
