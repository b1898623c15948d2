import { createServer, type Server } from 'node:http';
import { tempDir } from './app.js';
import { call } from './http-waiter.js';
import { actionsClaims, startLocalIssuer, type LocalIssuer } from './oidc-issuer.js';
import { startServerProcess, type ServerProcess } from './processes.js';

/**
 * A stand-in for the GitHub Actions runner's OIDC token endpoint (what ACTIONS_ID_TOKEN_REQUEST_URL
 * points at): GET with `Authorization: Bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>` and `&audience=…`
 * answers `{"value": "<JWT>"}`, signed by the local issuer for `repository`.
 */
export interface ActionsTokenEndpoint {
  /** ACTIONS_ID_TOKEN_REQUEST_URL (already has a query string, as GitHub's does). */
  readonly requestUrl: string;
  readonly requestToken: string;
  /** The audiences asked for, in order. */
  readonly audiences: string[];
  close(): Promise<void>;
}

export async function startActionsTokenEndpoint(issuer: LocalIssuer, repository: string): Promise<ActionsTokenEndpoint> {
  const requestToken = 'actions-request-token';
  const audiences: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/token' || req.headers.authorization !== `Bearer ${requestToken}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"Bad credentials"}');
      return;
    }
    const audience = url.searchParams.get('audience') ?? 'https://github.com/acme';
    audiences.push(audience);
    void issuer.sign(actionsClaims(repository), { audience }).then((value) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ count: 1, value }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    requestUrl: `http://127.0.0.1:${port}/token?api-version=2.0`,
    requestToken,
    audiences,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A stacklock server that trusts the local issuer, with `repository` allowed, and what a job of it has. */
export interface OidcJob {
  readonly issuer: LocalIssuer;
  readonly actions: ActionsTokenEndpoint;
  readonly server: ServerProcess;
  /** The environment of a job with `permissions: id-token: write` in `repository`, run `runId`. */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

export async function startOidcJob(repository: string, runId: string): Promise<OidcJob> {
  const issuer = await startLocalIssuer();
  const actions = await startActionsTokenEndpoint(issuer, repository);
  const server = await startServerProcess(tempDir(), [], { STACKLOCK_OIDC_JWKS_URL: issuer.jwksUrl });
  const allowed = await call(server.url, server.adminToken, 'PUT', `/api/v1/repos/${repository}`, {});
  if (allowed.status >= 300) throw new Error(`could not allow ${repository}: ${JSON.stringify(allowed.body)}`);
  return {
    issuer,
    actions,
    server,
    env: {
      ACTIONS_ID_TOKEN_REQUEST_URL: actions.requestUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: actions.requestToken,
      GITHUB_REPOSITORY: repository,
      GITHUB_RUN_ID: runId,
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_JOB: 'apply',
    },
    async close() {
      await server.kill();
      await actions.close();
      await issuer.close();
    },
  };
}
