import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Aborts when the client goes away before its answer is sent, so a waiter leaves the line at once.
 * TCP keepalive on the socket also notices a client machine that vanished without closing it.
 */
export function disconnectSignal(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  request.raw.socket?.setKeepAlive(true, 15_000);
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}
