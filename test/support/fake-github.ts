import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for GitHub's REST API: a real HTTP server that speaks the endpoints stacklock
 * uses (workflow dispatches, commit statuses, and a GitHub App's installation lookup and token
 * exchange), checks credentials, records every call, and answers what a test tells it to
 * (5xx, rate limits with retry-after, 422) before going back to normal. It refuses with 422 what
 * GitHub refuses: a status `context` over 255 characters or a `description` over 140 (counted
 * in code points, as GitHub counts characters), more than 25 dispatch `inputs`, and strings
 * holding a lone surrogate. Like GitHub, it treats status contexts case-insensitively.
 */
export type FakeRoute = 'dispatch' | 'status' | 'installation' | 'access_token';

export interface FakeCall {
  readonly route: FakeRoute;
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: Record<string, unknown> | null;
  readonly at: number;
  /** The status this call was answered with. */
  readonly answered: number;
}

export interface FakeAnswer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
}

export interface DispatchCall {
  readonly repository: string;
  readonly workflow: string;
  readonly ref: string;
  readonly inputs: Record<string, unknown>;
  readonly at: number;
}

export interface StatusCall {
  readonly repository: string;
  readonly sha: string;
  readonly state: string;
  readonly context: string;
  readonly description: string;
  readonly at: number;
}

const ROUTES: Array<[FakeRoute, string, RegExp]> = [
  ['dispatch', 'POST', /^\/repos\/([^/]+)\/([^/]+)\/actions\/workflows\/([^/]+)\/dispatches$/],
  ['status', 'POST', /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([0-9a-f]+)$/],
  ['installation', 'GET', /^\/repos\/([^/]+)\/([^/]+)\/installation$/],
  ['access_token', 'POST', /^\/app\/installations\/(\d+)\/access_tokens$/],
];

/** GitHub's limits on what it accepts. */
export const GITHUB_LIMITS = { contextMax: 255, descriptionMax: 140, inputsMax: 25 } as const;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether any string in a JSON value (keys included) holds a lone surrogate, which GitHub cannot store. */
export function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return LONE_SURROGATE.test(value);
  if (Array.isArray(value)) return value.some(hasLoneSurrogate);
  if (typeof value === 'object' && value !== null) return Object.entries(value).some(([k, v]) => LONE_SURROGATE.test(k) || hasLoneSurrogate(v));
  return false;
}

const codePoints = (s: string) => Array.from(s).length;

function validationFailed(resource: string, field: string, message: string): FakeAnswer {
  return {
    status: 422,
    body: { message: 'Validation Failed', errors: [{ resource, code: 'custom', field, message }], documentation_url: 'https://docs.github.com/rest' },
  };
}

/** GitHub's secondary rate limit answer. */
export function secondaryRateLimit(retryAfterS: number): FakeAnswer {
  return {
    status: 403,
    headers: { 'retry-after': String(retryAfterS) },
    body: { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' },
  };
}

export class FakeGitHub {
  /** Calls answered, with their answers. */
  readonly calls: FakeCall[] = [];
  /** Calls received, counted before any delay: a call in flight is here and not yet in `calls`. */
  readonly received: FakeRoute[] = [];
  /** The token a token-authenticated stacklock must send. */
  readonly token = 'ghp_fake_' + randomBytes(8).toString('hex');
  readonly appId = '4242';
  readonly installationId = 777;
  readonly privateKeyPem: string;
  private readonly publicKey: KeyObject;
  private readonly installationTokens = new Set<string>();
  private readonly scripted = new Map<FakeRoute, FakeAnswer[]>();
  private readonly delays = new Map<FakeRoute, number>();
  private server: Server | null = null;
  url = '';

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    this.publicKey = publicKey;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((res) => this.server!.listen(0, '127.0.0.1', res));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((res) => (this.server ? this.server.close(() => res()) : res()));
  }

  /** The next calls to `route` get these answers, in order; then normal service resumes. */
  answerNext(route: FakeRoute, ...answers: FakeAnswer[]): void {
    this.scripted.set(route, [...(this.scripted.get(route) ?? []), ...answers]);
  }

  /** Every call to `route` waits this long before it is answered. */
  delay(route: FakeRoute, ms: number): void {
    this.delays.set(route, ms);
  }

  /** Environment for a stacklock server authenticating with a token. */
  tokenEnv(): Record<string, string> {
    return { STACKLOCK_GITHUB_API_URL: this.url, STACKLOCK_GITHUB_TOKEN: this.token, STACKLOCK_GITHUB_WRITE_INTERVAL: '0', STACKLOCK_GITHUB_RETRY_BASE: '20ms' };
  }

  /** Environment for a stacklock server authenticating as a GitHub App. */
  appEnv(): Record<string, string> {
    return {
      STACKLOCK_GITHUB_API_URL: this.url,
      STACKLOCK_GITHUB_APP_ID: this.appId,
      STACKLOCK_GITHUB_PRIVATE_KEY: this.privateKeyPem,
      STACKLOCK_GITHUB_WRITE_INTERVAL: '0',
      STACKLOCK_GITHUB_RETRY_BASE: '20ms',
    };
  }

  /** Workflow dispatches GitHub accepted (answered 204), in arrival order. */
  dispatches(): DispatchCall[] {
    return this.calls
      .filter((c) => c.route === 'dispatch' && c.answered === 204)
      .map((c) => {
        const [, owner, repo, workflow] = ROUTES[0]![2].exec(c.path)!;
        const b = c.body ?? {};
        return { repository: `${owner}/${repo}`, workflow: decodeURIComponent(workflow!), ref: String(b.ref), inputs: (b.inputs ?? {}) as Record<string, unknown>, at: c.at };
      });
  }

  /** Commit statuses accepted, in arrival order; `latestStatus` gives the one GitHub would show. */
  statuses(): StatusCall[] {
    return this.calls
      .filter((c) => c.route === 'status' && c.answered === 201)
      .map((c) => {
        const [, owner, repo, sha] = ROUTES[1]![2].exec(c.path)!;
        const b = c.body ?? {};
        return { repository: `${owner}/${repo}`, sha: sha!, state: String(b.state), context: String(b.context), description: String(b.description ?? ''), at: c.at };
      });
  }

  /** GitHub keeps one status per context, compared case-insensitively. */
  latestStatus(sha: string, context: string): StatusCall | undefined {
    return this.statuses().filter((s) => s.sha === sha && s.context.toLowerCase() === context.toLowerCase()).at(-1);
  }

  /** The distinct contexts a commit shows, as GitHub tells them apart (case-insensitively). */
  contexts(sha: string): string[] {
    const seen = new Map<string, string>();
    for (const s of this.statuses()) if (s.sha === sha && !seen.has(s.context.toLowerCase())) seen.set(s.context.toLowerCase(), s.context);
    return [...seen.values()];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = decodeURI(new URL(req.url ?? '/', 'http://x').pathname);
    const match = ROUTES.find(([, method, re]) => method === req.method && re.test(path));
    const reply = (a: FakeAnswer) => {
      res.writeHead(a.status, { 'content-type': 'application/json; charset=utf-8', 'x-github-request-id': randomBytes(4).toString('hex'), ...(a.headers ?? {}) });
      res.end(a.body === undefined ? '' : JSON.stringify(a.body));
      return a.status;
    };
    if (!match) {
      reply({ status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' } });
      return;
    }
    const route = match[0];
    this.received.push(route);
    let body: Record<string, unknown> | null = null;
    try {
      body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : null;
    } catch {
      reply({ status: 400, body: { message: 'Problems parsing JSON' } });
      return;
    }
    const wait = this.delays.get(route);
    if (wait) await new Promise((r) => setTimeout(r, wait));
    const authorization = req.headers.authorization;
    const answered = reply(this.scripted.get(route)?.shift() ?? this.answer(route, authorization, body));
    this.calls.push({ route, method: req.method ?? '', path, authorization, body, at: Date.now(), answered });
  }

  private answer(route: FakeRoute, authorization: string | undefined, body: Record<string, unknown> | null): FakeAnswer {
    const unauthorized = { status: 401, body: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' } };
    if (route === 'installation' || route === 'access_token') {
      if (!this.validAppJwt(authorization)) return unauthorized;
      if (route === 'installation') return { status: 200, body: { id: this.installationId, app_id: Number(this.appId) } };
      const token = 'ghs_' + randomBytes(12).toString('hex');
      this.installationTokens.add(token);
      return {
        status: 201,
        body: { token, expires_at: new Date(Date.now() + 3600_000).toISOString(), permissions: { actions: 'write', statuses: 'write', pull_requests: 'read' }, repository_selection: 'all' },
      };
    }
    const presented = /^(?:token|bearer)\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!presented || (presented !== this.token && !this.installationTokens.has(presented))) return unauthorized;
    const refused = route === 'dispatch' ? this.refusedDispatch(body) : this.refusedStatus(body);
    if (refused) return refused;
    return route === 'dispatch' ? { status: 204 } : { status: 201, body: { id: 1, state: 'pending' } };
  }

  private refusedDispatch(body: Record<string, unknown> | null): FakeAnswer | null {
    const inputs = body?.inputs;
    if (inputs !== undefined && inputs !== null && Object.keys(inputs as object).length > GITHUB_LIMITS.inputsMax) {
      return { status: 422, body: { message: `you may only define up to ${GITHUB_LIMITS.inputsMax} \`inputs\` for a \`workflow_dispatch\` event`, documentation_url: 'https://docs.github.com/rest' } };
    }
    if (hasLoneSurrogate(body)) return validationFailed('WorkflowDispatch', 'inputs', 'inputs are not valid UTF-8');
    return null;
  }

  private refusedStatus(body: Record<string, unknown> | null): FakeAnswer | null {
    const context = typeof body?.context === 'string' ? body.context : 'default';
    const description = typeof body?.description === 'string' ? body.description : '';
    if (hasLoneSurrogate(context)) return validationFailed('Status', 'context', 'context is not valid UTF-8');
    if (hasLoneSurrogate(description)) return validationFailed('Status', 'description', 'description is not valid UTF-8');
    if (codePoints(context) > GITHUB_LIMITS.contextMax) return validationFailed('Status', 'context', `context is too long (maximum is ${GITHUB_LIMITS.contextMax} characters)`);
    if (codePoints(description) > GITHUB_LIMITS.descriptionMax) {
      return validationFailed('Status', 'description', `description is too long (maximum is ${GITHUB_LIMITS.descriptionMax} characters)`);
    }
    return null;
  }

  /** An RS256 JWT signed with the App's private key, issued by its app id, not expired. */
  private validAppJwt(authorization: string | undefined): boolean {
    const jwt = /^bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    const parts = jwt?.split('.');
    if (!parts || parts.length !== 3) return false;
    const [h, p, s] = parts as [string, string, string];
    if (!verify('RSA-SHA256', Buffer.from(`${h}.${p}`), this.publicKey, Buffer.from(s, 'base64url'))) return false;
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as { iss?: unknown; exp?: number };
    return String(claims.iss) === this.appId && typeof claims.exp === 'number' && claims.exp * 1000 > Date.now();
  }
}

/** Polls until `check` returns a truthy value, or fails with `what` after `timeoutMs`. */
export async function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
