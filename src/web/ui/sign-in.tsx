import { useState } from 'preact/hooks';
import { api, ApiError, type SessionInfo } from './api.js';

/** Paste an API token; the server answers with an HttpOnly session cookie the page never sees. */
export function SignIn({ onSignedIn, notice }: { onSignedIn: (s: SessionInfo) => void; notice: string | null }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await api<SessionInfo>('POST', '/api/v1/session', { token: token.trim() }));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
      setToken('');
    }
  };
  return (
    <main id="main" class="sign-in">
      <form onSubmit={submit} aria-describedby="sign-in-help">
        <h1>
          <span class="logo" aria-hidden="true" /> stacklock
        </h1>
        {notice && <p class="notice" role="status">{notice}</p>}
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          required
          autofocus
          placeholder="slk_…"
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
        />
        <p id="sign-in-help" class="muted">
          Paste a token of your workspace (for example from <code>stacklock token create</code>). It is exchanged for a session
          cookie and not kept by this page.
        </p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
