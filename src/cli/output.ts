import { formatDuration } from '../core/duration.js';

/** A plain text table: columns padded to their widest cell. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function holderText(lock: { holder: { principal: string; holderId: string | null } }, max = Infinity): string {
  const { principal, holderId } = lock.holder;
  if (!holderId) return truncateMiddle(principal, max);
  // The holder id gives way first, from its middle, so its job name at the end stays.
  const room = Math.max(12, max - Array.from(principal).length - 3);
  return `${principal} (${truncateMiddle(holderId, room)})`;
}

export function remaining(expiresAt: string, now = Date.now()): string {
  const ms = new Date(expiresAt).getTime() - now;
  return ms <= 0 ? 'expired' : `in ${formatDuration(ms)}`;
}

/**
 * Cut from the middle, keeping both ends: a key's stack and component, or a holder id's run and
 * job (`acme/infra/actions/runs/1/attempts/1/apply`), are at its two ends.
 */
export function truncateMiddle(s: string, max: number): string {
  const chars = Array.from(s);
  if (chars.length <= max) return s;
  // The last path segment whole when it leaves room for a start: the component, the job name.
  const last = Array.from(s.slice(s.lastIndexOf('/') + 1));
  const tail = s.includes('/') && last.length + 1 <= max - 8 ? last.length + 1 : Math.floor((max - 1) / 2);
  return chars.slice(0, max - 1 - tail).join('') + '…' + chars.slice(chars.length - tail).join('');
}

export function truncate(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 1) + '…';
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
