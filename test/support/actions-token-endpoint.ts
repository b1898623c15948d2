import { createServer, type Server } from 'node:http';
import { actionsClaims, type LocalIssuer } from './oidc-issuer.js';

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
