import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import type { LockView } from '../../core/lock-view.js';
import { api, query, type SessionInfo } from './api.js';
import { ForceUnlockDialog } from './force-unlock-dialog.js';
import { Grid } from './grid.js';
import { countdown, instant, shortInstant } from './format.js';
import { useDebounced, useLoader, useNow } from './hooks.js';
import { Breakable, LongText } from './fields.js';
import { LockDetails } from './lock-details.js';
import { waitersOf } from './queue.js';

const PAGE = 200;
// Joining or leaving a key's line changes no lock, so the stream does not announce it: the list
// (and its Waiting counts) is also read again this often.
const QUEUE_REFRESH_MS = 5000;

/** A lock of the list, with how many wait in its key's line (a server that does not say counts as none). */
type ListedLock = LockView & { queueLength?: number };

interface LockPage {
  locks: ListedLock[];
  nextCursor: string | null;
}

function waitingOf(lock: ListedLock): number {
  return typeof lock.queueLength === 'number' ? lock.queueLength : (waitersOf(lock)?.length ?? 0);
}

/** Every live lock of the workspace, by key, with a live countdown; refetched on each change. */
export function LocksPage({ session, version, announce }: { session: SessionInfo; version: number; announce: (m: string) => void }) {
  const [prefix, setPrefix] = useState('');
  const [pages, setPages] = useState(1);
  const [open, setOpen] = useState<string | null>(null);
  const [forcing, setForcing] = useState<LockView | null>(null);
  const settled = useDebounced(prefix, 200);
  const now = useNow();
  const { data, error, loading } = useLoader(async () => {
    const locks: ListedLock[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < pages; i++) {
      const page: LockPage = await api<LockPage>('GET', `/api/v1/locks${query({ prefix: settled, limit: PAGE, cursor })}`);
      locks.push(...page.locks);
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    return { locks, more: cursor !== null };
  }, [settled, pages, version, Math.floor(now / QUEUE_REFRESH_MS)]);

  const locks = data?.locks ?? [];
  return (
    <main id="main">
      <div class="toolbar">
        <h1>Locks</h1>
        <label class="filter">
          <span>Key prefix</span>
          <input type="search" value={prefix} placeholder="acme/infra/prod/" spellcheck={false}
            onInput={(e) => setPrefix((e.target as HTMLInputElement).value)} />
        </label>
      </div>
      <Grid
        caption={`Live locks${settled ? ` under ${settled}` : ''}`}
        columns={['Key', 'Holder', 'Message', 'Token', 'Acquired', 'Expires in', 'Waiting', <span class="sr-only">Actions</span>]}
        cols={['c-key', 'c-holder', 'c-message', 'c-token', 'c-time', 'c-expires', 'c-waiting', session.canForce ? 'c-actions c-actions-force' : 'c-actions']}
        loading={loading}
        error={error}
      >
        {locks.map((lock) => {
          const left = new Date(lock.expiresAt).getTime() - now;
          const expanded = open === lock.key;
          return (
            <Fragment key={lock.key}>
              <tr data-key={lock.key}>
                <th scope="row" data-label="Key" class="key long"><LongText value={lock.key} /></th>
                <td data-label="Holder" class="long">
                  <div>
                    <Breakable value={lock.holder.principal} />
                    {lock.holder.holderId && <div class="muted small holder-id" data-holder-id><Breakable value={lock.holder.holderId} /></div>}
                  </div>
                </td>
                <td data-label="Message" class="long">{lock.message && <div><LongText value={lock.message} /></div>}</td>
                <td data-label="Token" class="num">{lock.token}</td>
                <td data-label="Acquired" class="c-time"><time dateTime={lock.acquiredAt} title={instant(lock.acquiredAt)}>{shortInstant(lock.acquiredAt, now)}</time></td>
                <td data-label="Expires in" class={left < 60_000 ? 'num soon' : 'num'}>
                  <time dateTime={lock.expiresAt} title={`Expires ${instant(lock.expiresAt)}; acquired ${instant(lock.acquiredAt)}`} class="countdown">{countdown(left)}</time>
                </td>
                <td data-label="Waiting" class={waitingOf(lock) > 0 ? 'num waiting' : 'num muted'}>{waitingOf(lock)}</td>
                <td class="actions">
                  <div class="row-actions">
                  <button type="button" aria-expanded={expanded} aria-controls={`details-${lock.id}`}
                    onClick={() => setOpen(expanded ? null : lock.key)}>
                    {expanded ? 'Hide' : 'Details'}
                  </button>
                  {session.canForce && (
                    <button type="button" class="danger" onClick={() => setForcing(lock)}>Force unlock</button>
                  )}
                  </div>
                </td>
              </tr>
              {expanded && (
                <tr class="expanded" id={`details-${lock.id}`}>
                  <td colSpan={8}>
                    <LockDetails lock={lock} version={version} now={now} />
                  </td>
                </tr>
              )}
            </Fragment>
          );
        })}
      </Grid>
      {!loading && locks.length === 0 && !error && (
        <p class="empty">{settled ? `No locks under “${settled}”.` : 'No locks are held. Everything can deploy.'}</p>
      )}
      {data?.more && (
        <button type="button" onClick={() => setPages((p) => p + 1)}>Show more</button>
      )}
      <ForceUnlockDialog lock={forcing} onClose={(done) => {
        setForcing(null);
        if (done) announce(done);
      }} />
    </main>
  );
}
