import { useState } from 'preact/hooks';
import { api, query, safeUrl } from './api.js';
import { Breakable, LongText } from './fields.js';
import { instant } from './format.js';
import { Grid } from './grid.js';
import { useLoader, useNow } from './hooks.js';

const STATES = ['waiting_for_lock', 'dispatching', 'dispatched', 'failed', 'cancelled', 'superseded', 'timed_out'];

/** The fields of a dispatch this page shows (the API's dispatch view, issue 6). */
interface DispatchRow {
  id: string;
  key: string;
  repository: string;
  workflow: string;
  ref: string;
  pullRequest?: number | null;
  state: string;
  reason?: string | null;
  blockedBy?: { holder: string; holderId: string | null; message: string; expiresAt: string } | null;
  createdAt: string;
  dispatchedAt?: string | null;
  links?: { workflowRuns?: string | null; pullRequest?: string | null; commit?: string | null };
}

/** Dispatches reach a state on their own after a lock frees, so this page also refreshes every few seconds. */
export function DispatchesPage({ version }: { version: number }) {
  const [state, setState] = useState('');
  const tick = Math.floor(useNow(5000) / 5000);
  const { data, error, loading } = useLoader(
    () => api<{ dispatches: DispatchRow[] }>('GET', `/api/v1/dispatches${query({ state, limit: 200 })}`),
    [state, version, tick],
  );
  const rows = data?.dispatches ?? [];
  return (
    <main id="main">
      <div class="toolbar">
        <h1>Dispatches</h1>
        <label class="filter">
          <span>State</span>
          <select value={state} onInput={(e) => setState((e.target as HTMLSelectElement).value)}>
            <option value="">any</option>
            {STATES.map((s) => <option key={s} value={s}>{s.replace(/_/g, ' ')}</option>)}
          </select>
        </label>
      </div>
      <Grid caption="Workflow dispatches, newest first" columns={['Created', 'Key', 'Workflow', 'State', 'Links']}
        cols={['c-when', 'c-key', 'c-workflow', 'c-state', 'c-links']} loading={loading} error={error}>
        {rows.map((d) => <DispatchLine key={d.id} d={d} />)}
      </Grid>
      {!loading && rows.length === 0 && !error && <p class="empty">No dispatches{state ? ` in state ${state.replace(/_/g, ' ')}` : ''}.</p>}
    </main>
  );
}

function DispatchLine({ d }: { d: DispatchRow }) {
  const runs = safeUrl(d.links?.workflowRuns);
  const pr = safeUrl(d.links?.pullRequest);
  const commit = safeUrl(d.links?.commit);
  return (
    <tr data-dispatch={d.id}>
      <td data-label="Created"><time dateTime={d.createdAt}>{instant(d.createdAt)}</time></td>
      <td data-label="Key" class="key long"><LongText value={d.key} /></td>
      <td data-label="Workflow" class="long">
        <div>
          <Breakable value={d.repository} /> <Breakable value={d.workflow} />
          <span class="muted"> @ <Breakable value={d.ref} />{d.pullRequest ? ` · PR #${d.pullRequest}` : ''}</span>
        </div>
      </td>
      <td data-label="State" class="long">
        <div>
          <span class={`badge state-${d.state}`}>{d.state.replace(/_/g, ' ')}</span>
          {d.blockedBy && d.state === 'waiting_for_lock' && (
            <div class="muted small">
              behind <Breakable value={d.blockedBy.holder} />
              {d.blockedBy.message ? <>: “<LongText value={d.blockedBy.message} />”</> : ''}
            </div>
          )}
          {d.dispatchedAt && <div class="muted small">sent {instant(d.dispatchedAt)}</div>}
          {d.reason && <div class="muted small">{d.reason}</div>}
        </div>
      </td>
      <td data-label="Links">
        <div class="links">
          {runs && <a href={runs} target="_blank" rel="noopener noreferrer">workflow runs</a>}
          {pr && <a href={pr} target="_blank" rel="noopener noreferrer">pull request</a>}
          {commit && <a href={commit} target="_blank" rel="noopener noreferrer">commit</a>}
        </div>
      </td>
    </tr>
  );
}

/** Whether this server has dispatches to show: the route exists (dispatch gating is built) and has been used. */
export async function dispatchesAvailable(): Promise<boolean> {
  try {
    const data = await api<{ dispatches?: unknown[] }>('GET', `/api/v1/dispatches${query({ limit: 1 })}`);
    return (data?.dispatches?.length ?? 0) > 0;
  } catch {
    return false;
  }
}
