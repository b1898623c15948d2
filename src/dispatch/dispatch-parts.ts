import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../config.js';
import type { Store } from '../core/ports/store.js';
import { AtmosFlow } from './atmos-flow.js';
import { CommitStatuses } from './commit-statuses.js';
import { DispatchService } from './dispatch-service.js';
import { Dispatcher, type DispatcherLog } from './dispatcher.js';
import { OctokitGitHub, type GitHubApi } from './github-client.js';

export interface DispatchParts {
  readonly dispatcher: Dispatcher;
  readonly service: DispatchService;
  readonly flow: AtmosFlow;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface DispatchPartsDeps {
  /** GitHub as the dispatcher sees it; by default Octokit configured from `config.github`. */
  readonly github?: GitHubApi;
  /** This process among replicas (claims on dispatches are held in its name). */
  readonly replicaId?: string;
  readonly log: DispatcherLog & { debug(msg: string): void; warn(obj: object | string, msg?: string): void };
}

/** The dispatch queue's moving parts, wired from the config: the app starts them when ready and stops them when it closes. */
export function createDispatchParts(config: Config, store: Store, deps: DispatchPartsDeps): DispatchParts {
  const log = deps.log;
  const github = deps.github ?? new OctokitGitHub(config.github, { debug: (m) => log.debug(m), warn: (m) => log.warn(m) });
  const statuses = new CommitStatuses(store.dispatches, github, log);
  const dispatcher = new Dispatcher(store, store.dispatches, github, statuses, {
    claim: { replicaId: deps.replicaId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`, leaseMs: config.dispatch.leaseMs, lockDelayMs: config.lockDelayMs },
    sweepIntervalMs: config.dispatch.sweepIntervalMs,
    maxAttempts: config.dispatch.maxAttempts,
    // One process per SQLite file: whatever was being sent at start belongs to a dead process.
    recoverAllAtStart: !store.capabilities.multiReplica,
    log,
  });
  const service = new DispatchService(store.dispatches, store.access, dispatcher, statuses, github, { maxWaitMs: config.dispatch.maxWaitMs });
  const flow = new AtmosFlow(store, service, dispatcher, statuses, {
    maxWaitMs: config.dispatch.maxWaitMs,
    settleIntervalMs: config.dispatch.sweepIntervalMs * 5,
    log,
  });
  return {
    dispatcher,
    service,
    flow,
    async start() {
      await dispatcher.start();
      await flow.start();
    },
    async stop() {
      await flow.stop();
      await dispatcher.stop();
    },
  };
}
