import { CliError, EXIT, fromEnvelope } from './errors.js';

export interface OidcLoginOptions {
  /** The stacklock server. */
  readonly url: string;
  /** Workspace id or name the repository is allowed in. */
  readonly workspace: string;
  /** The audience asked of GitHub; the server must expect the same (STACKLOCK_OIDC_AUDIENCE there). */
  readonly audience: string;
}

/**
 * Logs in as the repository of this GitHub Actions run: asks the runner for an OIDC token
 * (the job needs `permissions: id-token: write`, which sets ACTIONS_ID_TOKEN_REQUEST_URL and
 * _TOKEN) and exchanges it at POST /api/v1/auth/github-oidc for a short-lived session token.
 * Neither token is printed.
 */
export async function githubOidcLogin(options: OidcLoginOptions, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!requestUrl || !requestToken) {
    throw new CliError(
      'GitHub OIDC login needs ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN: run it in a GitHub Actions job with `permissions: id-token: write`, or set STACKLOCK_TOKEN',
      EXIT.forbidden,
      'Unauthorized',
    );
  }
  const tokenUrl = new URL(requestUrl);
  tokenUrl.searchParams.set('audience', options.audience);
  const idToken = await getJson(tokenUrl.toString(), { method: 'GET', headers: { authorization: `Bearer ${requestToken}`, accept: 'application/json' } }, 'the GitHub Actions OIDC token endpoint');
  const jwt = (idToken.body as { value?: unknown }).value;
  if (idToken.status !== 200 || typeof jwt !== 'string') {
    throw new CliError(`the GitHub Actions OIDC token endpoint answered HTTP ${idToken.status} without a token`, EXIT.forbidden, 'Unauthorized');
  }
  const exchange = await getJson(
    `${options.url}/api/v1/auth/github-oidc`,
    { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ token: jwt, workspaceId: options.workspace }) },
    `stacklock at ${options.url}`,
  );
  const envelope = exchange.body as { success?: unknown; data?: { token?: unknown } };
  if (envelope.success !== true) throw fromEnvelope(exchange.body as Record<string, unknown>, exchange.status);
  if (typeof envelope.data?.token !== 'string') throw new CliError('the OIDC exchange answered without a session token', EXIT.unavailable);
  return envelope.data.token;
}

async function getJson(url: string, init: RequestInit, what: string): Promise<{ status: number; body: unknown }> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(`cannot reach ${what}: ${cause?.code ?? cause?.message ?? (error as Error).message}`, EXIT.unavailable);
  }
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) as unknown };
  } catch {
    throw new CliError(`${what} answered HTTP ${response.status} with something that is not JSON`, EXIT.unavailable);
  }
}
