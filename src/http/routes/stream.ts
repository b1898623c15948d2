import type { FastifyInstance } from 'fastify';
import type { LockChange } from '../../store/lock-store.js';
import type { AppContext } from '../app.js';
import { principalOf } from './locks.js';

/**
 * Server-sent events: every committed change in the caller's workspace, as the store reports it
 * (on PostgreSQL that includes other replicas' changes). The dashboard refetches what a change
 * touches; a change carries no lock contents, so nothing outlives the caller's own permissions.
 */
export async function streamRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  // Open streams never end by themselves: close them when the server closes, or close() would wait for every browser.
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const close of open) close();
  });

  app.get(
    '/stream',
    {
      sse: { kind: 'only' },
      schema: {
        summary: "Live changes in the caller's workspace (text/event-stream: `ready`, then one `change` per committed change)",
      },
    },
    async (request, reply) => {
      const { workspaceId } = principalOf(request);
      reply.sse.keepAlive();
      const send = (change: LockChange) => {
        if (change.workspaceId !== workspaceId || !reply.sse.isConnected) return;
        reply.sse.send({ event: 'change', data: { key: change.key, kind: change.kind, token: change.token } }).catch((error: unknown) => {
          request.log.debug({ err: error }, 'stream write failed');
        });
      };
      const stop = ctx.store.onChange(send);
      const close = () => reply.sse.close();
      open.add(close);
      reply.sse.onClose(() => {
        stop();
        open.delete(close);
      });
      await reply.sse.send({ event: 'ready', data: { serverTime: (await ctx.store.now()).toISOString() } });
    },
  );
}
