import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWTPayload, type CryptoKey } from 'jose';

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

/**
 * A stand-in for GitHub's Actions OIDC issuer: a locally generated RSA key whose public half is
 * served as a JWKS by a real HTTP server on loopback, and helpers that mint tokens with it,
 * or forge them in the ways an attacker would.
 */
export interface LocalIssuer {
  readonly jwksUrl: string;
  readonly kid: string;
  /** How many times the JWKS was fetched. */
  fetches(): number;
  /** A token as GitHub would mint it for a run of `repository`, at `now` (seconds since the epoch). */
  sign(claims: JWTPayload & { repository?: string }, options?: { now?: number; expiresIn?: number; issuer?: string; audience?: string; notBefore?: number }): Promise<string>;
  /** Same claims and kid, signed by another RSA key. */
  forge(claims: JWTPayload, now: number): Promise<string>;
  /** `alg: none`, no signature. */
  unsigned(claims: JWTPayload, now: number): string;
  /** HS256 with the issuer's public key (PEM) as the HMAC secret: the classic key-confusion attack. */
  hmacWithPublicKey(claims: JWTPayload, now: number): Promise<string>;
  close(): Promise<void>;
}

export function actionsClaims(repository: string, extra: JWTPayload = {}): JWTPayload {
  const [owner] = repository.split('/');
  return {
    sub: `repo:${repository}:ref:refs/heads/main`,
    repository,
    repository_owner: owner,
    repository_id: '123456',
    run_id: '9876543210',
    run_attempt: '1',
    run_number: '42',
    workflow: 'deploy',
    workflow_ref: `${repository}/.github/workflows/deploy.yaml@refs/heads/main`,
    job_workflow_ref: `${repository}/.github/workflows/deploy.yaml@refs/heads/main`,
    actor: 'octocat',
    ref: 'refs/heads/main',
    sha: 'abc123def456',
    event_name: 'push',
    ...extra,
  };
}

export async function startLocalIssuer(): Promise<LocalIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const other = await generateKeyPair('RS256', { extractable: true });
  const kid = 'local-test-key';
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const publicPem = await exportSPKI(publicKey);
  let fetches = 0;
  const server: Server = createServer((req, res) => {
    if (req.url === '/.well-known/jwks') {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };

  const signWith = (key: CryptoKey, claims: JWTPayload, o: { now?: number; expiresIn?: number; issuer?: string; audience?: string; notBefore?: number } = {}) => {
    const now = o.now ?? Math.floor(Date.now() / 1000);
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setIssuer(o.issuer ?? GITHUB_ISSUER)
      .setAudience(o.audience ?? 'atmos-pro.com')
      .setIssuedAt(now)
      .setNotBefore(o.notBefore ?? now - 5)
      .setExpirationTime(now + (o.expiresIn ?? 300));
    return jwt.sign(key);
  };
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const fullClaims = (claims: JWTPayload, now: number) => ({ iss: GITHUB_ISSUER, aud: 'atmos-pro.com', iat: now, nbf: now - 5, exp: now + 300, ...claims });

  return {
    jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks`,
    kid,
    fetches: () => fetches,
    sign: (claims, options) => signWith(privateKey, claims, options),
    forge: (claims, now) => signWith(other.privateKey, claims, { now }),
    unsigned: (claims, now) => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(fullClaims(claims, now))}.`,
    async hmacWithPublicKey(claims, now) {
      const input = `${b64({ alg: 'HS256', typ: 'JWT', kid })}.${b64(fullClaims(claims, now))}`;
      return `${input}.${createHmac('sha256', publicPem).update(input).digest('base64url')}`;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
