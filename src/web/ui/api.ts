/**
 * The dashboard's only way to the server: same-origin JSON calls to /api/v1 with the session
 * cookie, the CSRF token on every change, and the envelope unwrapped into data or an ApiError.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly tag: string,
    message: string,
  ) {
    super(message);
  }
}

export interface SessionInfo {
  principal: string;
  kind: string;
  scopes: string[];
  canForce: boolean;
  workspace: { id: string; name: string };
  csrfToken: string | null;
  expiresAt: string | null;
  serverTime: string;
}

let csrfToken: string | null = null;
let onSignedOut: () => void = () => undefined;

export function rememberSession(session: SessionInfo | null): void {
  csrfToken = session?.csrfToken ?? null;
}

/** Called when the server says the session is gone, so the app can show the sign-in form. */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

export async function api<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(0, 'Unavailable', 'cannot reach the stacklock server');
  }
  let envelope: { success?: boolean; data?: T; errorTag?: string; errorMessage?: string };
  try {
    envelope = await response.json();
  } catch {
    throw new ApiError(response.status, 'Internal', `the server answered HTTP ${response.status} without JSON`);
  }
  if (envelope.success !== true) {
    if (response.status === 401 && path !== '/api/v1/session') onSignedOut();
    throw new ApiError(response.status, envelope.errorTag ?? 'Internal', envelope.errorMessage ?? `HTTP ${response.status}`);
  }
  return envelope.data as T;
}

export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Only http(s) links are ever rendered from server data (never javascript: or data: URLs). */
export function safeUrl(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}
