import { useState } from 'preact/hooks';
import { AUDIT_ACTIONS } from '../../core/audit.js';
import { api, query } from './api.js';
import { Fields, LongText, Breakable } from './fields.js';
import { instant } from './format.js';
import { Grid } from './grid.js';
import { useLoader } from './hooks.js';

const PAGE = 50;

interface AuditEventView {
  id: number;
  at: string;
  action: string;
  actor: string;
  key: string | null;
  token: number | null;
  details: Record<string, unknown> | null;
}

interface Filters {
  key: string;
  action: string;
  actor: string;
}

/** The audit log, newest first, filtered by key, action and actor, one page at a time. */
export function ActivityPage({ version, initial }: { version: number; initial: URLSearchParams }) {
  const fromHash = (): Filters => ({ key: initial.get('key') ?? '', action: initial.get('action') ?? '', actor: initial.get('actor') ?? '' });
  const [draft, setDraft] = useState<Filters>(fromHash);
  const [filters, setFilters] = useState<Filters>(fromHash);
  // Cursors of the pages before this one; the first page has none and follows changes live.
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const { data, error, loading } = useLoader(
    () => api<{ events: AuditEventView[]; nextCursor: string | null }>('GET', `/api/v1/events${query({ ...filters, limit: PAGE, cursor })}`),
    [filters, cursor, cursor === undefined ? version : -1],
  );
  const apply = (f: Filters) => {
    setFilters(f);
    setCursors([]);
    location.hash = `#/activity${query({ ...f })}`;
  };
  const field = (name: keyof Filters) => ({
    value: draft[name],
    onInput: (e: Event) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value }),
  });
  const events = data?.events ?? [];
  return (
    <main id="main">
      <div class="toolbar">
        <h1>Activity</h1>
      </div>
      <form class="filters" onSubmit={(e) => (e.preventDefault(), apply(draft))} aria-label="Filter the audit log">
        <label class="filter"><span>Key</span><input type="search" spellcheck={false} {...field('key')} /></label>
        <label class="filter">
          <span>Action</span>
          <select {...field('action')}>
            <option value="">any</option>
            {AUDIT_ACTIONS.map((a) => <option key={a} value={a}>{a}</option>)}
          </select>
        </label>
        <label class="filter"><span>Actor</span><input type="search" spellcheck={false} placeholder="token:deployer" {...field('actor')} /></label>
        <button type="submit" class="primary">Filter</button>
        <button type="button" onClick={() => (setDraft({ key: '', action: '', actor: '' }), apply({ key: '', action: '', actor: '' }))}>Clear</button>
      </form>
      <Grid caption="Audit events, newest first" columns={['Time', 'Action', 'Actor', 'Key', 'Token', 'Details']}
        cols={['c-when', 'c-action', 'c-actor', 'c-key', 'c-token', 'c-details']} loading={loading} error={error}>
        {events.map((e) => (
          <tr key={e.id} data-event={e.action}>
            <td data-label="Time"><time dateTime={e.at}>{instant(e.at)}</time></td>
            <td data-label="Action"><span class={`badge ${e.action.replace('.', '-')}`}><Breakable value={e.action} after={ACTION_BREAKS} /></span></td>
            <td data-label="Actor"><span><Breakable value={e.actor} after={ACTOR_BREAKS} /></span></td>
            <td data-label="Key" class="key long">{e.key !== null && <LongText value={e.key} />}</td>
            <td data-label="Token" class="num">{e.token ?? ''}</td>
            <td data-label="Details" class="event-details long">{e.details && <Fields values={reasonFirst(e.details)} />}</td>
          </tr>
        ))}
      </Grid>
      {!loading && events.length === 0 && !error && <p class="empty">No events match.</p>}
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>Newer</button>
        <span class="muted">Page {cursors.length + 1}</span>
        <button type="button" disabled={!data?.nextCursor} onClick={() => data?.nextCursor && setCursors([...cursors, data.nextCursor])}>Older</button>
      </nav>
    </main>
  );
}

// Where an action (lock.force_deleted) and an actor (repo:acme/infra) may wrap when their column is narrow.
const ACTION_BREAKS = /(?<=[._])/;
const ACTOR_BREAKS = /(?<=[:/])/;

/** The reason of a forced release or a revocation is what a reader looks for first. */
function reasonFirst(details: Record<string, unknown>): Record<string, unknown> {
  const { reason, ...rest } = details;
  return reason === undefined ? rest : { reason, ...rest };
}
