import { randomUUID } from 'node:crypto';
import Ajv from 'ajv';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import cookie from '@fastify/cookie';
import { fastifySSE } from '@fastify/sse';
import swagger from '@fastify/swagger';
import type { Config } from '../config.js';
import { type Clock, systemClock } from '../core/clock.js';
import { ERRORS } from '../core/errors.js';
import { LockService } from '../core/lock-service.js';
import type { Principal } from '../core/types.js';
import { apiTokenResolver, authenticator, type Authenticate, type BearerResolver } from '../auth/authenticate.js';
import { githubActionsVerifier } from '../auth/github-oidc.js';
import { OidcExchange, oidcSessionResolver } from '../auth/oidc-sessions.js';
import type { Store } from '../core/ports/store.js';
import { DashboardSessions } from '../auth/dashboard-sessions.js';
import type { AtmosFlow } from '../dispatch/atmos-flow.js';
import { createDispatchParts } from '../dispatch/dispatch-parts.js';
import type { DispatchService } from '../dispatch/dispatch-service.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import type { GitHubApi } from '../dispatch/github-client.js';
import { errorEnvelope } from './envelope.js';
import { toDomainError } from './error-mapping.js';
import { useJsonBodyParser } from './json-body.js';
import { commitStatsOf } from '../core/ports/commit-stats.js';
import type { AppContext } from './context.js';
import { createMetrics } from './metrics.js';
import { requestAuthenticator, type RequestSession } from './request-auth.js';
import { dashboardRoutes, defaultWebDir } from './routes/dashboard.js';
import { dispatchRoutes } from './routes/dispatches.js';
import { githubWebhookRoutes } from './routes/github-webhooks.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { AtmosUploads } from '../dispatch/atmos-uploads.js';
import { atmosUploadRoutes } from './routes/atmos-uploads.js';
import { authRoutes } from './routes/auth.js';
import { lockStatusRoutes } from './routes/lock-status.js';
import { lockRoutes } from './routes/locks.js';
import { repositoryRoutes } from './routes/repositories.js';
import { workspaceRoutes } from './routes/workspaces.js';
import { sessionRoutes } from './routes/session.js';
import { streamRoutes } from './routes/stream.js';
import { tokenRoutes } from './routes/tokens.js';
import { setSecurityHeaders } from './security-headers.js';
import { whoamiRoutes } from './routes/whoami.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on every route that is not `config: { public: true }`. */
    principal: Principal | null;
    /** The dashboard session behind `principal`, when it came from the session cookie. */
    dashboardSession: RequestSession | null;
  }
  interface FastifyContextConfig {
    public?: boolean;
  }
  interface FastifyInstance {
    /** Sends queued dispatches. */
    dispatcher: Dispatcher;
    /** Pairs pull_request webhooks with atmos uploads and holds dependents. */
    atmosFlow: AtmosFlow;
  }
}

export interface AppDeps {
  readonly store: Store;
  readonly clock?: Clock;
  /** `false` silences the log (tests); otherwise pino options or an instance. */
  readonly logger?: FastifyServerOptions['logger'] | FastifyServerOptions['loggerInstance'];
  /** More ways to turn a bearer token into a principal (OIDC sessions). */
  readonly resolvers?: BearerResolver[];
  /** Where the built dashboard is (default `<package>/dist/web`). */
  readonly webDir?: string;
  /** GitHub as the dispatcher sees it; by default Octokit configured from `config.github`. */
  readonly github?: GitHubApi;
  /** This process among replicas (claims on dispatches are held in its name). */
  readonly replicaId?: string;
}

export type { AppContext } from './context.js';

/** Builds the server without listening: `main` listens, tests use `inject()`. */
export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const logger = deps.logger ?? {
    level: config.logLevel,
    redact: ['req.headers.authorization', 'req.headers.cookie'],
    // Readable lines for a person at a terminal; JSON, one object per line, for everything else.
    ...(process.stdout.isTTY ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true } } } : {}),
  };
  const app = Fastify({
    ...(isLoggerInstance(logger) ? { loggerInstance: logger } : { logger }),
    // One line per request (below), not fastify's two ("incoming request", "request completed").
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    bodyLimit: config.bodyLimitBytes,
    routerOptions: { maxParamLength: 8192, ignoreTrailingSlash: true },
    // Errors the framework raises before routing (a malformed URL, a bad content-type header)
    // get the envelope too.
    frameworkErrors: (error, request, reply) => {
      const domain = toDomainError(error);
      void (reply as unknown as FastifyReply)
        .code(ERRORS[domain.tag].status)
        .type('application/json')
        .send(errorEnvelope(domain.tag, error.code === 'FST_ERR_BAD_URL' ? 'malformed URL: bad percent-encoding' : domain.message, request.id));
    },
  }) as unknown as FastifyInstance;

  app.addHook('onResponse', async (request, reply) => {
    // The path without its query string: a reason or a prefix is the caller's business.
    const path = request.url.split('?', 1)[0];
    request.log.info(
      { method: request.method, path, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, principal: request.principal?.name },
      `${request.method} ${path} ${reply.statusCode}`,
    );
  });

  // Bodies are validated without coercion ("5000" is not a TTL); query strings and params are
  // strings on the wire and are coerced to the declared types.
  const bodyAjv = new Ajv.default({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
  const queryAjv = new Ajv.default({ coerceTypes: true, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : queryAjv).compile(schema));

  // Only JSON is accepted: text/plain would otherwise reach the handlers as a string.
  app.removeContentTypeParser('text/plain');
  useJsonBodyParser(app);

  const metrics = createMetrics(commitStatsOf(deps.store));
  const authenticate = authenticator([...(deps.resolvers ?? []), oidcSessionResolver(deps.store), apiTokenResolver(deps.store)]);
  const clock = deps.clock ?? systemClock;
  const dispatches = createDispatchParts(config, deps.store, {
    ...(deps.github ? { github: deps.github } : {}),
    ...(deps.replicaId ? { replicaId: deps.replicaId } : {}),
    log: app.log,
  });
  app.addHook('onReady', () => dispatches.start());
  app.addHook('onClose', () => dispatches.stop());
  app.decorate('dispatcher', dispatches.dispatcher);
  app.decorate('atmosFlow', dispatches.flow);
  const ctx: AppContext = {
    config,
    store: deps.store,
    locks: new LockService(deps.store, {
      maxTtlMs: config.maxTtlMs,
      lockDelayMs: config.lockDelayMs,
      waiterLeaseMs: config.waiterLeaseMs,
      recheckMs: config.waitRecheckMs,
    }),
    metrics,
    authenticate,
    clock,
    oidc: new OidcExchange(deps.store, githubActionsVerifier(config.oidc, clock), config.oidc.sessionTtlMs),
    atmosUploads: new AtmosUploads(deps.store.atmos),
    dispatches: dispatches.service,
    atmosFlow: dispatches.flow,
  };

  // Requests waiting in line would hold up the close until their wait ran out: let them go first,
  // each answered with a retryable 503, so a shutdown is prompt and the waiter knows why.
  app.addHook('preClose', async () => ctx.locks.stopWaiting());

  const sessions = new DashboardSessions(deps.store, deps.store.dashboardSessions);
  const authenticateRequest = requestAuthenticator(authenticate, sessions);

  // Before the auth hook: it reads the session cookie.
  await app.register(cookie);
  app.addHook('onRequest', (request, reply, done) => setSecurityHeaders(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined)));
  await app.register(fastifySSE);

  // Counted here, on every replica that hears the change, once its transaction is durable.
  const stopCountingExpiries = deps.store.onChange((change) => {
    if (change.kind === 'expired') metrics.expired.inc();
  });
  app.addHook('onClose', async () => stopCountingExpiries());

  app.decorateRequest('principal', null);
  app.decorateRequest('dashboardSession', null);
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.public || request.is404) return;
    const { principal, session } = await authenticateRequest(request);
    request.principal = principal;
    request.dashboardSession = session;
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-trace-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration
      .labels(request.method, request.routeOptions.url ?? 'unknown', String(reply.statusCode))
      .observe(reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error, request, reply) => {
    const domain = toDomainError(error);
    const status = ERRORS[domain.tag].status;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ errorTag: domain.tag }, domain.message);
    void reply.code(status).type('application/json').send(errorEnvelope(domain.tag, domain.message, request.id, domain.context));
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .type('application/json')
      .send(errorEnvelope('NotFound', `no such route: ${request.method} ${request.url.split('?')[0]}`, request.id));
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'stacklock', version: '0.1.0', description: 'Deployment locking and dispatch gating' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  await app.register(healthRoutes, { ctx });
  await app.register(lockRoutes, { ctx, prefix: '/api/v1' });
  await app.register(lockStatusRoutes, { ctx, prefix: '/api/v1' });
  await app.register(eventRoutes, { ctx, prefix: '/api/v1' });
  await app.register(tokenRoutes, { ctx, prefix: '/api/v1' });
  await app.register(workspaceRoutes, { ctx, prefix: '/api/v1' });
  await app.register(repositoryRoutes, { ctx, prefix: '/api/v1' });
  await app.register(authRoutes, { ctx, prefix: '/api/v1' });
  await app.register(atmosUploadRoutes, { ctx, prefix: '/api/v1' });
  await app.register(whoamiRoutes, { ctx, prefix: '/api/v1' });
  // atmos before v1.180.0 called `<base>/api/...`: the same handlers, left out of /openapi.json.
  await app.register(
    async (legacy) => {
      legacy.addHook('onRoute', (route) => {
        route.schema = { ...(route.schema ?? {}), hide: true };
      });
      await legacy.register(lockRoutes, { ctx });
      await legacy.register(authRoutes, { ctx });
      await legacy.register(atmosUploadRoutes, { ctx });
      await legacy.register(lockStatusRoutes, { ctx });
    },
    { prefix: '/api' },
  );
  await app.register(sessionRoutes, { ctx, sessions, prefix: '/api/v1' });
  await app.register(streamRoutes, { ctx, sessions, prefix: '/api/v1' });
  await app.register(dashboardRoutes, { webDir: deps.webDir ?? defaultWebDir() });
  await app.register(dispatchRoutes, { ctx, prefix: '/api/v1' });
  await app.register(githubWebhookRoutes, { ctx });
  return app;
}

function isLoggerInstance(l: unknown): l is FastifyServerOptions['loggerInstance'] {
  return typeof l === 'object' && l !== null && typeof (l as { child?: unknown }).child === 'function';
}
