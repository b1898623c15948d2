import { useState } from 'preact/hooks';
import { api, query, safeUrl } from './api.js';
import { instant, text } from './format.js';
import { Grid } from './grid.js';
import { useLoader, useNow } from './hooks.js';

const STATES = ['waiting_for_lock', 'dispatching', 'dispatched', 'failed', 'cancelled', 'superseded', 'timed_out'];

type Dispatch = Record<string, unknown>;

/** Dispatches reach a state on their own after a lock frees, so this page also refreshes every few seconds. */
export function DispatchesPage({ version }: { version: number }) {
  const [state, setState] = useState('');
  const tick = Math.floor(useNow(5000) / 5000);
  const { data, error, loading } = useLoader(() => api<unknown>('GET', `/api/v1/dispatches${query({ state })}`), [state, version, tick]);
  const rows = dispatchesOf(data);
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
      <Grid caption="Workflow dispatches" columns={['Created', 'Key', 'Workflow', 'State', 'Links']} loading={loading} error={error}>
        {rows.map((d, i) => {
          const run = safeUrl(d.runUrl ?? d.workflowRunUrl ?? d.htmlUrl);
          const pr = safeUrl(d.pullRequestUrl ?? (d.pullRequest as Dispatch | undefined)?.url);
          const created = typeof d.createdAt === 'string' ? d.createdAt : null;
          return (
            <tr key={text(d.id) || i}>
              <td data-label="Created">{created ? <time dateTime={created}>{instant(created)}</time> : ''}</td>
              <td data-label="Key" class="key">{text(d.key)}</td>
              <td data-label="Workflow">
                {text(d.repository)} {text(d.workflow)}
                {d.ref ? <span class="muted"> @ {text(d.ref)}</span> : null}
              </td>
              <td data-label="State">
                <span class={`badge state-${text(d.state)}`}>{text(d.state).replace(/_/g, ' ')}</span>
                {d.reason ? <div class="muted small">{text(d.reason)}</div> : null}
              </td>
              <td data-label="Links">
                {run && <a href={run} target="_blank" rel="noopener noreferrer">run</a>} {pr && <a href={pr} target="_blank" rel="noopener noreferrer">pull request</a>}
              </td>
            </tr>
          );
        })}
      </Grid>
      {!loading && rows.length === 0 && !error && <p class="empty">No dispatches{state ? ` in state ${state.replace(/_/g, ' ')}` : ''}.</p>}
    </main>
  );
}

export function dispatchesOf(data: unknown): Dispatch[] {
  if (Array.isArray(data)) return data as Dispatch[];
  const list = (data as { dispatches?: unknown } | null)?.dispatches;
  return Array.isArray(list) ? (list as Dispatch[]) : [];
}

/** Whether this server has dispatches at all (the route exists once dispatch gating is built). */
export async function dispatchesAvailable(): Promise<boolean> {
  try {
    await api('GET', `/api/v1/dispatches${query({ limit: 1 })}`);
    return true;
  } catch {
    return false;
  }
}
