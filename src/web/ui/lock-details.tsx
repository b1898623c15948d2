import type { LockView } from '../../core/lock-view.js';
import { api, query } from './api.js';
import { Breakable, FieldValue, fieldLabel } from './fields.js';
import { waitingFor } from './format.js';
import { useLoader } from './hooks.js';
import { waitersOf } from './queue.js';

/** Everything known about one lock: holder details, properties, and who waits behind it. */
export function LockDetails({ lock, version, now }: { lock: LockView; version: number; now: number }) {
  const { data, error } = useLoader(() => api<unknown>('GET', `/api/v1/locks/${encodeURIComponent(lock.key)}`), [lock.key, version]);
  const waiters = waitersOf(data ?? lock);
  const status = (data ?? {}) as { state?: string; availableAt?: string };
  // [label, the value's name in the server's JSON (how it is shown), value]
  const facts: Array<[string, string, unknown]> = [
    ['Key', 'key', lock.key],
    ['Holder', 'holder', lock.holder.principal],
    ['Holder id', 'holderId', lock.holder.holderId],
    ...Object.entries(lock.holder.details ?? {}).map(([k, v]): [string, string, unknown] => [fieldLabel(k), k, v]),
    ['Acquired', 'acquiredAt', lock.acquiredAt],
    ['Last renewed', 'updatedAt', lock.updatedAt],
    ['Expires', 'expiresAt', lock.expiresAt],
    ['State', 'note', status.state === 'lock_delay' ? 'expired; held back by the lock-delay' : null],
    ['Available at', 'availableAt', status.availableAt && status.availableAt !== lock.expiresAt ? status.availableAt : null],
    ['Lock id', 'id', lock.id],
    ...Object.entries(lock.properties ?? {}).map(([k, v]): [string, string, unknown] => [`Property ${k}`, k, v]),
  ];
  return (
    <div class="details">
      <dl>
        {facts
          .filter(([, , v]) => v !== null && v !== undefined && v !== '')
          .map(([label, name, v]) => (
            <div key={label} class={name === 'key' ? 'wide' : undefined}>
              <dt>{label}</dt>
              <dd><FieldValue name={name} value={v} /></dd>
            </div>
          ))}
      </dl>
      {waiters !== null && (
        <section aria-label={`Waiting for ${lock.key}`}>
          <h3>Waiting ({waiters.length})</h3>
          {waiters.length === 0 ? (
            <p class="muted">Nobody is waiting.</p>
          ) : (
            <ol class="queue">
              {waiters.map((w) => (
                <li key={w.position} value={w.position}>
                  <strong>{w.who}</strong>
                  {w.holderId ? <span class="muted"> <Breakable value={w.holderId} /></span> : null}
                  {w.message ? <> — “{w.message}”</> : null}
                  {w.since ? <span class="muted"> · {waitingFor(w.since, now)}</span> : null}
                </li>
              ))}
            </ol>
          )}
        </section>
      )}
      {error && error.message !== '' && !/not locked/.test(error.message) && <p class="error">{error.message}</p>}
      <p>
        <a href={`#/activity${query({ key: lock.key })}`}>History of this key</a>
      </p>
    </div>
  );
}
