import { useEffect, useRef, useState } from 'preact/hooks';

/** The server's clock as seen from here: every countdown uses it, never the browser's clock alone. */
let skewMs = 0;
export function syncServerTime(serverTimeIso: string): void {
  const t = new Date(serverTimeIso).getTime();
  if (!Number.isNaN(t)) skewMs = t - Date.now();
}
export function serverNow(): number {
  return Date.now() + skewMs;
}

/** Re-renders every `ms` and returns the server's current time. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(serverNow);
  useEffect(() => {
    const id = setInterval(() => setNow(serverNow()), ms);
    return () => clearInterval(id);
  }, [ms]);
  return now;
}

/** The part of location.hash after `#`, e.g. `/activity?key=a`. */
export function useHash(): [path: string, params: URLSearchParams] {
  const read = () => location.hash.replace(/^#/, '') || '/locks';
  const [hash, setHash] = useState(read);
  useEffect(() => {
    const on = () => setHash(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  const [path = '/locks', search = ''] = hash.split('?');
  return [path, new URLSearchParams(search)];
}

/** `value`, once it has stopped changing for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const id = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(id);
  }, [value, ms]);
  return settled;
}

/** Runs `load` now and whenever `deps` change; drops answers that arrive after a newer call began. */
export function useLoader<T>(load: () => Promise<T>, deps: unknown[]): { data: T | null; error: Error | null; loading: boolean } {
  const [state, setState] = useState<{ data: T | null; error: Error | null; loading: boolean }>({ data: null, error: null, loading: true });
  const generation = useRef(0);
  useEffect(() => {
    const mine = ++generation.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => mine === generation.current && setState({ data, error: null, loading: false }),
      (error: Error) => mine === generation.current && setState((s) => ({ data: s.data, error, loading: false })),
    );
  }, deps);
  return state;
}
