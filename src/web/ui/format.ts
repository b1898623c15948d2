/** Time shown to people: countdowns and instants, in the viewer's locale, always with the ISO time on hover. */

export function countdown(ms: number): string {
  if (ms <= 0) return 'expiring…';
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${pad(m)}m`;
  if (m > 0) return `${m}m ${pad(sec)}s`;
  return `${sec}s`;
}

export function instant(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** The time alone for today, the date and time otherwise. */
export function shortInstant(iso: string, now: number): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const today = new Date(now).toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
}

export function ago(iso: string, now: number): string {
  const ms = now - new Date(iso).getTime();
  if (ms < 5_000) return 'just now';
  return `${countdown(ms)} ago`;
}

/** How long someone has waited since `iso`: "waiting for 1m 09s", never "waiting 1m 09s ago". */
export function waitingFor(iso: string, now: number): string {
  const ms = now - new Date(iso).getTime();
  return ms < 5_000 ? 'just joined' : `waiting for ${countdown(ms)}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** A value from server JSON as short text. */
export function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}
