import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Aborts when the client goes away before its answer is sent, so a waiter leaves the line at once.
 * TCP keepalive on the socket also notices a client machine that vanished without closing it.
 */
export function disconnectSignal(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const socket = request.raw.socket as { setKeepAlive?: (enable: boolean, delayMs: number) => void } | undefined;
  socket?.setKeepAlive?.(true, 15_000); // absent on inject()'s fake socket
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}
