import type { Cluster } from './cluster.js';
import { sleep } from './cluster.js';
import { FencedCounter } from './fenced-resource.js';
import { History, type Op, type Outcome } from './history.js';

export interface WorkloadOptions {
  readonly clients: number;
  readonly keys: number;
  readonly ttlMs: number;
  readonly durationMs: number;
  /** A request without an answer by then is `unknown`. */
  readonly requestTimeoutMs: number;
}

const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));

/**
 * N clients, each in a loop: pick a key and a replica, acquire with a fresh holderId; when granted,
 * increment the key's fenced counter, maybe renew (and increment again), then release. An acquire
 * whose outcome is unknown is followed by a release of the same holderId, as a careful client does.
 */
export async function runWorkload(cluster: Cluster, options: WorkloadOptions): Promise<{ history: History; resources: Map<string, FencedCounter> }> {
  const history = new History();
  const keys = Array.from({ length: options.keys }, (_, i) => `acme/infra/stack-${i}/component`);
  const resources = new Map(keys.map((k) => [k, new FencedCounter()]));
  const end = Date.now() + options.durationMs;
  // Clients are CI jobs: they may lock and unlock their own, never force (an admin's unlock
  // without `force` would release whoever holds the key, as atmos expects).
  const token = await createToken(cluster, `history-${Date.now()}`, ['locks:write']);
  const http = new Http(cluster, history, options, token);

  const useResource = async (key: string, token: number) => {
    const counter = resources.get(key) as FencedCounter;
    const value = counter.read(token);
    if (value === null) return;
    await sleep(rand(0, 25));
    counter.write(token, value + 1);
  };

  const client = async (c: number) => {
    for (let seq = 0; Date.now() < end; seq++) {
      const key = keys[rand(0, keys.length - 1)] as string;
      const holderId = `c${c}-${seq}`;
      const acq = await http.acquire(c, key, holderId);
      if (acq.outcome === 'ok') {
        await useResource(key, acq.token as number);
        if (Math.random() < 0.5) {
          await sleep(rand(0, options.ttlMs / 2));
          const renew = await http.acquire(c, key, holderId);
          if (renew.outcome === 'ok') await useResource(key, renew.token as number);
        }
        await sleep(rand(0, 100));
        await http.release(c, key, holderId);
      } else if (acq.outcome === 'unknown') {
        await http.release(c, key, holderId);
      }
      await sleep(rand(10, 120));
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, c) => client(c)));
  return { history, resources };
}

interface ErrorBody {
  errorTag?: string;
  data?: { token?: number; expiresAt?: string };
  context?: { lock?: { holder?: { holderId?: string | null }; token?: number; expiresAt?: string } };
}

/**
 * Talks to a random replica and logs every call as an operation. Like a load balancer's health
 * check, it avoids for a second a replica that refused a connection (it is down).
 */
class Http {
  private readonly downUntil = new Map<number, number>();

  constructor(
    private readonly cluster: Cluster,
    private readonly history: History,
    private readonly options: WorkloadOptions,
    private readonly token: string,
  ) {}

  async acquire(client: number, key: string, holderId: string): Promise<Op> {
    const replica = this.pick();
    const op = this.history.invoke({ client, kind: 'acquire', key, holderId, replica });
    const r = await this.send(replica, 'POST', { key, holderId, ttlMs: this.options.ttlMs, message: `client ${client}` });
    if (r.status === 200 || r.status === 201) {
      return this.history.complete(op, 'ok', {
        grant: r.status === 201 ? 'granted' : 'renewed',
        token: r.body?.data?.token as number,
        expiresAt: Date.parse(r.body?.data?.expiresAt as string),
      });
    }
    if (r.status === 409 && r.body?.errorTag === 'LockHeld') {
      const lock = r.body.context?.lock;
      return this.history.complete(op, 'refused', {
        heldBy: { holderId: lock?.holder?.holderId ?? null, token: lock?.token as number, expiresAt: Date.parse(lock?.expiresAt as string) },
      });
    }
    return this.history.complete(op, r.outcome, { detail: r.detail });
  }

  async release(client: number, key: string, holderId: string): Promise<Op> {
    const replica = this.pick();
    const op = this.history.invoke({ client, kind: 'release', key, holderId, replica });
    const r = await this.send(replica, 'DELETE', { key, holderId, force: false });
    if (r.status === 200) return this.history.complete(op, 'ok');
    return this.history.complete(op, r.outcome, { detail: r.detail });
  }

  private pick(): number {
    const now = Date.now();
    const up = Array.from({ length: this.cluster.size }, (_, i) => i).filter((i) => (this.downUntil.get(i) ?? 0) <= now);
    const choices = up.length > 0 ? up : Array.from({ length: this.cluster.size }, (_, i) => i);
    return choices[rand(0, choices.length - 1)] as number;
  }

  private async send(replica: number, method: string, body: unknown): Promise<{ status: number; body: ErrorBody | null; outcome: Outcome; detail: string }> {
    try {
      const res = await fetch(`${this.cluster.url(replica)}/api/v1/locks`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.requestTimeoutMs),
      });
      const parsed = (await res.json()) as ErrorBody;
      // 5xx: the server may have committed before failing to answer; other 4xx changed nothing.
      const outcome: Outcome = res.status >= 500 ? 'unknown' : 'refused';
      return { status: res.status, body: parsed, outcome, detail: `${res.status} ${parsed.errorTag ?? ''}` };
    } catch (error) {
      const e = error as { name?: string; cause?: { code?: string } };
      // Refused connections never reached a server: nothing happened. Anything else may have.
      const refused = e.cause?.code === 'ECONNREFUSED';
      if (refused) this.downUntil.set(replica, Date.now() + 1_000);
      return { status: 0, body: null, outcome: refused ? 'fail' : 'unknown', detail: e.cause?.code ?? e.name ?? String(error) };
    }
  }
}

async function createToken(cluster: Cluster, name: string, scopes: string[]): Promise<string> {
  const res = await fetch(`${cluster.url(0)}/api/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${cluster.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, scopes }),
  });
  const body = (await res.json()) as { data?: { token?: string } };
  if (res.status !== 201 || !body.data?.token) throw new Error(`token create failed: ${res.status} ${JSON.stringify(body)}`);
  return body.data.token;
}
