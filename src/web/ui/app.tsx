import { useCallback, useEffect, useState } from 'preact/hooks';
import { ActivityPage } from './activity-page.js';
import { api, ApiError, rememberSession, type SessionInfo, whenSignedOut } from './api.js';
import { DispatchesPage, dispatchesAvailable } from './dispatches-page.js';
import { syncServerTime, useHash } from './hooks.js';
import { useLiveChanges } from './live.js';
import { LocksPage } from './locks-page.js';
import { SignIn } from './sign-in.js';
import { useTheme } from './theme.js';

const DISPATCH_PROBE_MS = 4000;
const REVOKED = 'Your token was revoked or expired. Sign in again.';

type Phase = { kind: 'loading' } | { kind: 'signed-out'; notice: string | null } | { kind: 'signed-in'; session: SessionInfo };

export function App() {
  const [phase, setPhase] = useState<Phase>({ kind: 'loading' });
  const [hasDispatches, setHasDispatches] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [path, params] = useHash();
  const [theme, nextTheme] = useTheme();

  const signedIn = (session: SessionInfo) => {
    rememberSession(session);
    syncServerTime(session.serverTime);
    setPhase({ kind: 'signed-in', session });
  };
  const signedOut = useCallback((notice: string | null) => {
    rememberSession(null);
    setPhase({ kind: 'signed-out', notice });
  }, []);

  useEffect(() => {
    whenSignedOut(() => signedOut(REVOKED));
    api<SessionInfo>('GET', '/api/v1/session').then(signedIn, () => signedOut(null));
  }, []);

  const active = phase.kind === 'signed-in';
  // The stream ended or was refused: a 401 now means the session is gone (its token revoked, or it
  // expired), so show the sign-in form at once instead of a page that still looks live.
  const recheck = useCallback(() => {
    api('GET', '/api/v1/session').catch((error: unknown) => {
      if (error instanceof ApiError && error.status === 401) signedOut(REVOKED);
    });
  }, []);
  const { version, status } = useLiveChanges(active, recheck);
  // Creating a dispatch changes no lock, so nothing on the stream says the first one exists: until
  // one does, ask at sign-in, at every change and every few seconds.
  useEffect(() => {
    if (!active) {
      setHasDispatches(false);
      return;
    }
    if (hasDispatches) return;
    let stopped = false;
    const probe = () => void dispatchesAvailable().then((yes) => yes && !stopped && setHasDispatches(true));
    probe();
    const id = setInterval(probe, DISPATCH_PROBE_MS);
    return () => {
      stopped = true;
      clearInterval(id);
    };
  }, [active, hasDispatches, version]);
  useEffect(() => {
    if (!message) return;
    const id = setTimeout(() => setMessage(null), 6000);
    return () => clearTimeout(id);
  }, [message]);

  if (phase.kind === 'loading') return <p class="loading">Loading…</p>;
  if (phase.kind === 'signed-out') return <SignIn onSignedIn={signedIn} notice={phase.notice} />;
  const { session } = phase;

  const signOut = async () => {
    await api('DELETE', '/api/v1/session').catch(() => undefined);
    signedOut('Signed out.');
  };
  const tabs: Array<[string, string]> = [['/locks', 'Locks'], ['/activity', 'Activity'], ...(hasDispatches ? [['/dispatches', 'Dispatches'] as [string, string]] : [])];
  const page = path === '/activity' ? 'activity' : path === '/dispatches' && hasDispatches ? 'dispatches' : 'locks';

  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <div class="top-inner">
          <span class="brand"><span class="logo" aria-hidden="true" /> stacklock</span>
          <nav aria-label="Sections">
            {tabs.map(([href, label]) => (
              <a key={href} href={`#${href}`} aria-current={`/${page}` === href ? 'page' : undefined}>{label}</a>
            ))}
          </nav>
          <span class={`live ${status}`} role="status" title="Updates arrive by server-sent events">
            {status === 'live' ? 'Live' : status === 'connecting' ? 'Connecting…' : 'Offline'}
          </span>
          <span class="who" title={`Scopes: ${session.scopes.join(', ') || 'read only'}`}>
            {session.principal} <span class="muted">in {session.workspace.name}</span>
          </span>
          <button type="button" onClick={nextTheme} aria-label={`Colour theme: ${theme}. Change`}>
            {theme === 'system' ? 'Theme: auto' : theme === 'light' ? 'Theme: light' : 'Theme: dark'}
          </button>
          <button type="button" onClick={signOut}>Sign out</button>
        </div>
      </header>
      <div class="toast" role="status" aria-live="polite">{message}</div>
      {page === 'locks' && <LocksPage session={session} version={version} announce={setMessage} />}
      {page === 'activity' && <ActivityPage key={params.toString()} version={version} initial={params} />}
      {page === 'dispatches' && <DispatchesPage version={version} />}
    </>
  );
}
