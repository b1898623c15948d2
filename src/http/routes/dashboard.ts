import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../core/errors.js';

/**
 * The dashboard's files: `dist/web`, built from `src/web` by `npm run build` (Vite). Served
 * without authentication (they hold no data: every datum comes from /api/v1 under the session).
 * Hashed assets are cached for good; index.html is revalidated so a new build shows at once.
 */
export async function dashboardRoutes(app: FastifyInstance, { webDir }: { webDir: string }): Promise<void> {
  app.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), public: true };
    route.schema = { ...(route.schema ?? {}), hide: true };
  });
  if (!existsSync(join(webDir, 'index.html'))) {
    app.log.warn({ webDir }, 'dashboard not built: run `npm run build`');
    app.get('/', async () => {
      throw new DomainError('Unavailable', 'the dashboard is not built: run `npm run build` and restart the server');
    });
    return;
  }
  await app.register(fastifyStatic, {
    root: webDir,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    decorateReply: false,
    cacheControl: false,
    setHeaders(reply, path) {
      void reply.header('cache-control', /[\\/]assets[\\/]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}

/** `<package root>/dist/web`, found from this file whether it runs from `src/` (tests) or `dist/`. */
export function defaultWebDir(): string {
  let dir = import.meta.dirname;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'stacklock') {
      return join(dir, 'dist', 'web');
    }
    const up = dirname(dir);
    if (up === dir) return join(import.meta.dirname, '..', '..', 'web');
    dir = up;
  }
}
