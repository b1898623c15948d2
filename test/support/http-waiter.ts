import { request, type ClientRequest } from 'node:http';

export interface PendingCall {
  /** Resolves with the answer; rejects when the request was cut. */
  readonly response: Promise<{ status: number; body: { success: boolean; data?: Record<string, unknown>; errorTag?: string; errorMessage?: string } }>;
  /** Closes the connection as a killed client would. */
  disconnect(): void;
}

/** A JSON call on its own connection (no pooling), so a test can cut it like a client that died. */
export function openCall(baseUrl: string, token: string, method: string, path: string, body?: unknown): PendingCall {
  let req: ClientRequest;
  const response = new Promise<{ status: number; body: never }>((resolve, reject) => {
    req = request(baseUrl + path, {
      method,
      agent: false,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as never }));
    });
    req.on('error', reject);
    req.end(body !== undefined ? JSON.stringify(body) : undefined);
  });
  return { response, disconnect: () => req.destroy() };
}

/** One JSON call that waits for its answer. */
export async function call(baseUrl: string, token: string, method: string, path: string, body?: unknown) {
  return openCall(baseUrl, token, method, path, body).response;
}

export async function until(condition: () => Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
