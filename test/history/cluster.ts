import { tempDir } from '../support/app.js';
import { startLocalPostgres, type LocalPostgres } from '../support/embedded-postgres.js';
import { startServerProcess, type ServerProcess } from '../support/processes.js';

export interface ClusterOptions {
  readonly replicas: number;
  /**
   * A database URL to use, or 'own' to start a PostgreSQL of our own, which the Postgres-restart
   * fault needs (it restarts the server, so it cannot be one other test files share), or 'sqlite'
   * for one server on the SQLite file in its data dir (a restart opens the same file).
   */
  readonly database: string | 'own' | 'sqlite';
  /** Extra environment for the replicas (the teeth test's switch). */
  readonly env?: Record<string, string>;
}

export interface FaultRecord {
  readonly at: number;
  readonly what: string;
}

/**
 * K real `stacklock server` processes on one PostgreSQL (or one on SQLite), with the faults the
 * history run injects. Replicas share one data dir, so the first start's admin token is everyone's.
 */
export class Cluster {
  readonly faults: FaultRecord[] = [];
  /** Replicas that exited without being told to, with the end of their output: none may. */
  readonly crashes: string[] = [];
  private readonly stopping = new Set<ServerProcess>();
  private readonly servers: Array<ServerProcess | null>;
  private readonly urls: string[];

  private constructor(
    /** The server's arguments naming its database: none for SQLite. */
    private readonly databaseArgs: string[],
    readonly adminToken: string,
    private readonly dataDir: string,
    private readonly postgres: LocalPostgres | null,
    servers: ServerProcess[],
    private readonly options: ClusterOptions,
  ) {
    this.servers = servers;
    this.urls = servers.map((s) => s.url);
    servers.forEach((s, i) => this.watch(s, i));
  }

  private watch(server: ServerProcess, i: number): void {
    server.child.once('exit', (code, signal) => {
      if (!this.stopping.has(server)) this.crashes.push(`replica ${i} exited (${signal ?? code}):\n${server.log().slice(-3000)}`);
    });
  }

  static async start(options: ClusterOptions): Promise<Cluster> {
    if (options.database === 'sqlite' && options.replicas !== 1) throw new Error('SQLite serves from one process');
    const postgres = options.database === 'own' ? await startLocalPostgres('stacklock-history-pg') : null;
    const args = options.database === 'sqlite' ? [] : ['--database-url', postgres ? postgres.url : options.database];
    const dataDir = tempDir('stacklock-history-');
    const start = () => startServerProcess(dataDir, args, options.env ?? {});
    // The first replica bootstraps the workspace and admin token; the rest start together.
    const first = await start();
    const rest = await Promise.all(Array.from({ length: options.replicas - 1 }, start));
    return new Cluster(args, first.adminToken, dataDir, postgres, [first, ...rest], options);
  }

  get size(): number {
    return this.urls.length;
  }

  /** Where replica i listens (or listened, while it is down: requests there are refused). */
  url(i: number): string {
    return this.urls[i] as string;
  }

  /** kill -9, and a new process in its place after `downMs`. */
  async killAndRestart(i: number, downMs: number): Promise<void> {
    const server = this.servers[i];
    this.record(`kill -9 replica ${i}`);
    this.servers[i] = null;
    if (server) this.stopping.add(server);
    await server?.kill('SIGKILL');
    await sleep(downMs);
    const next = await startServerProcess(this.dataDir, this.databaseArgs, this.options.env ?? {});
    this.servers[i] = next;
    this.urls[i] = next.url;
    this.watch(next, i);
    this.record(`replica ${i} restarted`);
  }

  /** SIGSTOP for `ms`, then SIGCONT: a replica frozen mid-request, longer than a lease. */
  async pause(i: number, ms: number): Promise<void> {
    const server = this.servers[i];
    if (!server) return;
    this.record(`SIGSTOP replica ${i} for ${ms} ms`);
    server.child.kill('SIGSTOP');
    await sleep(ms);
    server.child.kill('SIGCONT');
    this.record(`SIGCONT replica ${i}`);
  }

  /**
   * Stops PostgreSQL and starts it again: a fast shutdown (open transactions aborted), or with
   * `crash` an immediate one (SIGQUIT, no checkpoint), after which every acknowledged grant must
   * still be there: a lost one would show as an overlap or a token going back.
   */
  async restartPostgres(downMs: number, crash: boolean): Promise<void> {
    if (!this.postgres) throw new Error('the Postgres restart fault needs the cluster’s own PostgreSQL');
    this.record(crash ? 'PostgreSQL crashing (immediate shutdown)' : 'PostgreSQL stopping');
    await this.postgres.restart(downMs, { crash });
    this.record('PostgreSQL restarted');
  }

  /** Output of every replica, for a failure message. */
  logs(): string {
    return this.servers.map((s, i) => `--- replica ${i}\n${s?.log().slice(-4000) ?? '(down)'}`).join('\n');
  }

  async stop(): Promise<void> {
    for (const s of this.servers) if (s) this.stopping.add(s);
    await Promise.all(this.servers.map((s) => s?.kill('SIGKILL')));
    await this.postgres?.destroy();
  }

  private record(what: string): void {
    this.faults.push({ at: Date.now(), what });
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
