import { useEffect, useState } from 'preact/hooks';
import { syncServerTime } from './hooks.js';

export type LiveStatus = 'connecting' | 'live' | 'offline';

/**
 * Subscribes to /api/v1/stream. Returns a counter that grows with every committed change in the
 * workspace (bursts are coalesced for 100 ms), which pages use to refetch, and the link's status.
 * When the stream ends, `onRefused` checks the session at once (a 401 signs the page out).
 * EventSource reconnects by itself after a network error; after a refusal it stops, and we
 * reconnect a few seconds later.
 */
export function useLiveChanges(enabled: boolean, onRefused: () => void): { version: number; status: LiveStatus } {
  const [version, setVersion] = useState(0);
  const [status, setStatus] = useState<LiveStatus>('connecting');
  useEffect(() => {
    if (!enabled) return;
    let source: EventSource | null = null;
    let pending: ReturnType<typeof setTimeout> | null = null;
    let retry: ReturnType<typeof setTimeout> | null = null;
    let stopped = false;
    const connect = () => {
      setStatus('connecting');
      source = new EventSource('/api/v1/stream');
      source.addEventListener('ready', (e) => {
        setStatus('live');
        syncServerTime((JSON.parse((e as MessageEvent<string>).data) as { serverTime: string }).serverTime);
        setVersion((v) => v + 1); // catch up on anything missed while disconnected
      });
      source.addEventListener('change', () => {
        pending ??= setTimeout(() => {
          pending = null;
          setVersion((v) => v + 1);
        }, 100);
      });
      // The server's word that this stream's token was revoked: it closes the stream right after.
      source.addEventListener('ended', () => {
        source?.close();
        setStatus('offline');
        onRefused();
        if (!stopped) retry = setTimeout(connect, 3000);
      });
      source.onerror = () => {
        // The server ends a session's stream when the session ends (its token revoked, signed out,
        // expired): ask at once whether it still stands, so a 401 brings the sign-in form back now
        // rather than after the reconnect below.
        onRefused();
        if (source?.readyState === EventSource.CLOSED) {
          setStatus('offline');
          source.close();
          if (!stopped) retry = setTimeout(connect, 3000);
        } else {
          setStatus('connecting');
        }
      };
    };
    connect();
    return () => {
      stopped = true;
      source?.close();
      if (pending) clearTimeout(pending);
      if (retry) clearTimeout(retry);
    };
  }, [enabled]);
  return { version, status };
}
