import { Fragment } from 'preact';
import { instant, text } from './format.js';

const AFTER_SLASH = /(?<=\/)/;

/**
 * A long value (a key, a holder id, a URL in a message) that may wrap after each `/` (or after
 * each character `after` matches), so it breaks at path boundaries instead of mid-word. Nothing
 * is added to the text itself: `<wbr>` only marks where a line may end, so the text reads and
 * copies whole.
 */
export function Breakable({ value, after = AFTER_SLASH }: { value: string; after?: RegExp }) {
  const parts = value.split(after);
  if (parts.length < 2) return <>{value}</>;
  return (
    <>
      {parts.map((p, i) => (
        <Fragment key={i}>
          {p}
          {i < parts.length - 1 && <wbr />}
        </Fragment>
      ))}
    </>
  );
}

/** Values longer than this may be cut to a few lines; shorter ones (every usual key) never are. */
const CLAMP_FROM = 160;

/**
 * A value that can be very long (keys and messages go up to 512 and 1024 characters): past
 * CLAMP_FROM characters it shows its first lines with an ellipsis, the whole value on hover (title)
 * and in full when focused (it is a tab stop then), so one lock cannot make its row a page tall.
 */
export function LongText({ value }: { value: string }) {
  if (value.length <= CLAMP_FROM) return <span><Breakable value={value} /></span>;
  return (
    <span class="clamp" title={value} tabIndex={0}>
      <Breakable value={value} />
    </span>
  );
}

/** Names the server's JSON uses in audit details and holder details, as people read them. */
const LABELS: Record<string, string> = {
  holder: 'Holder',
  holderId: 'Holder id',
  heldBy: 'Held by',
  heldByHolderId: 'Held by holder id',
  message: 'Message',
  expiresAt: 'Expires',
  heartbeat: 'Heartbeat',
  waitersAhead: 'Waiting ahead',
  waitedMs: 'Waited',
  reason: 'Reason',
  name: 'Name',
  scopes: 'Scopes',
  repository: 'Repository',
  keys: 'Keys',
  force: 'May force unlock',
  dispatchId: 'Dispatch',
  workflow: 'Workflow',
  ref: 'Ref',
  pullRequest: 'Pull request',
  headSha: 'Commit',
  state: 'State',
  waitingFor: 'Waiting for',
  token: 'Fencing token',
  verified: 'Verified',
  sessionExpiresAt: 'Session expires',
  runId: 'Run id',
  runAttempt: 'Run attempt',
  sha: 'Commit',
};

/** `waitersAhead` → "Waiting ahead"; a name without an entry above is split at its capitals. */
export function fieldLabel(name: string): string {
  const known = LABELS[name];
  if (known) return known;
  const words = name
    .replace(/[_-]+/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

/** One value as words: times in the viewer's locale, lists joined, yes/no, states without underscores. */
export function FieldValue({ name, value }: { name: string; value: unknown }) {
  if (typeof value === 'boolean') return <>{value ? 'yes' : 'no'}</>;
  if (typeof value === 'number' && name.endsWith('Ms')) return <>{duration(value)}</>;
  if (name === 'pullRequest' && typeof value === 'number') return <>#{value}</>;
  if (typeof value === 'string') {
    if (ISO_TIME.test(value)) return <time dateTime={value}>{instant(value)}</time>;
    if ((name === 'headSha' || name === 'sha') && /^[0-9a-f]{40}$/.test(value)) return <span title={value}>{value.slice(0, 12)}</span>;
    if (name === 'state') return <>{value.replace(/_/g, ' ')}</>;
    return <Breakable value={value} />;
  }
  if (Array.isArray(value)) {
    return value.length === 0 ? <span class="muted">none</span> : <Breakable value={value.map((v) => text(v)).join(', ')} />;
  }
  if (value && typeof value === 'object') return <Fields values={value as Record<string, unknown>} />;
  return <>{text(value)}</>;
}

/** An object from the server (audit details, holder details) as a list of labelled fields, never as JSON. */
export function Fields({ values, omit = [] }: { values: Record<string, unknown>; omit?: string[] }) {
  const shown = Object.entries(values).filter(([k, v]) => !omit.includes(k) && v !== null && v !== undefined && v !== '');
  if (shown.length === 0) return null;
  return (
    <dl class="fields">
      {shown.map(([k, v]) => (
        <div key={k} class={`field field-${k}`}>
          <dt>{fieldLabel(k)}</dt>
          <dd><FieldValue name={k} value={v} /></dd>
        </div>
      ))}
    </dl>
  );
}
