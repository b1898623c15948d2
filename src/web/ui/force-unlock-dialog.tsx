import { useEffect, useRef, useState } from 'preact/hooks';
import type { LockView } from '../../core/lock-view.js';
import { api, ApiError } from './api.js';
import { Breakable, LongText } from './fields.js';

/**
 * The confirmation of a forced release: it names the holder and their message and asks for a
 * reason, which the server records in the `lock.force_deleted` audit event.
 */
export function ForceUnlockDialog({ lock, onClose }: { lock: LockView | null; onClose: (done: string | null) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (lock && !dialog.open) {
      setReason('');
      setError(null);
      dialog.showModal();
    } else if (!lock && dialog.open) dialog.close();
  }, [lock]);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!lock) return;
    setBusy(true);
    setError(null);
    try {
      await api('DELETE', '/api/v1/locks', { key: lock.key, force: true, reason: reason.trim() });
      onClose(`Force-unlocked ${lock.key}`);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <dialog ref={ref} aria-labelledby="force-title force-key" onClose={() => lock && onClose(null)}>
      {lock && (
        <form onSubmit={submit}>
          <h2 id="force-title">Force unlock this lock?</h2>
          <p id="force-key" class="key dialog-key"><LongText value={lock.key} /></p>
          <p>
            It is held by <strong>{lock.holder.principal}</strong>
            {lock.holder.holderId ? <> (<Breakable value={lock.holder.holderId} />)</> : null}
            {lock.message ? <>: “<LongText value={lock.message} />”</> : null}. Their deploy may still be running.
          </p>
          <label for="force-reason">Reason (recorded in the audit log)</label>
          <textarea
            id="force-reason"
            autofocus
            required
            maxLength={1024}
            rows={3}
            value={reason}
            onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)}
          />
          {error && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
          <div class="actions">
            <button type="button" onClick={() => onClose(null)}>
              Cancel
            </button>
            <button type="submit" class="danger" disabled={busy || reason.trim() === ''}>
              {busy ? 'Unlocking…' : 'Force unlock'}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}
