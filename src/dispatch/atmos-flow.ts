import { atmosAction, planAtmosRun, type PullRequestFacts } from '../core/atmos-plan.js';
import { TERMINAL_STATES, type Dispatch, type StackRef } from '../core/dispatch.js';
import { DomainError } from '../core/errors.js';
import type { Store } from '../core/ports/store.js';
import { instanceOutcome } from './atmos-uploads.js';
import type { CommitStatuses } from './commit-statuses.js';
import type { DispatchService } from './dispatch-service.js';
import type { Dispatcher, DispatcherLog } from './dispatcher.js';

export interface AtmosFlowOptions {
  /** How long an event may wait for its upload (and is replanned after a restart): the dispatch max wait. */
  readonly maxWaitMs: number;
  /** How often held dependents are checked against reported statuses (the safety net of `statusReported`). */
  readonly settleIntervalMs: number;
  readonly log: DispatcherLog;
}

const BATCH = 500;
const name = (r: StackRef) => `${r.stack}/${r.component}`;

/**
 * The Atmos flow: a `pull_request` webhook and the `atmos describe affected --upload` of its head
 * commit, whichever arrives second, make one run; the run queues one dispatch per workflow its
 * stacks name (core/atmos-plan.ts). The run id is the webhook's delivery id and each dispatch has
 * a dedupe key, so planning a run again (a redelivery, an upload sent twice, a restart, two
 * replicas at once) queues nothing twice. A dependent is held until the stacks it depends on
 * report, through `PATCH /repos/{owner}/{repo}/instances`, that they finished after being
 * dispatched; if one of them failed or was never dispatched, the dependent is cancelled.
 */
export class AtmosFlow {
  private timer: NodeJS.Timeout | null = null;
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly store: Store,
    private readonly service: DispatchService,
    private readonly dispatcher: Dispatcher,
    private readonly statuses: CommitStatuses,
    private readonly options: AtmosFlowOptions,
  ) {}

  /** Replans recent events (their upload may have come while no server ran) and starts settling held dependents. */
  async start(): Promise<void> {
    const since = new Date((await this.store.now()).getTime() - this.options.maxWaitMs);
    for (const e of await this.store.githubEvents.pullRequestsSince(since, 10_000)) await this.planEverywhere(e);
    await this.store.githubEvents.purgePullRequests(since, 10_000);
    const tick = () => {
      this.timer = setTimeout(() => {
        this.track(this.settleAll()).finally(tick);
      }, this.options.settleIntervalMs);
      this.timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.running]);
  }

  /** A verified `pull_request` webhook: kept, then planned in every workspace whose upload for its commit is complete. */
  async pullRequest(e: PullRequestFacts): Promise<{ redelivered: boolean; planned: number }> {
    const fresh = await this.store.githubEvents.recordPullRequest(e);
    return { redelivered: !fresh, planned: await this.planEverywhere(e) };
  }

  /** An upload completed: the events already kept for its commit make their runs now. */
  uploaded(workspaceId: string, repository: string, headSha: string): void {
    this.track(
      (async () => {
        for (const e of await this.store.githubEvents.pullRequestsFor(repository, headSha)) await this.plan(workspaceId, e);
      })(),
    );
  }

  /** A stack reported a plan or apply: dependents waiting for it may go (or be cancelled). */
  statusReported(workspaceId: string, repository: string): void {
    this.track(this.settleAll((d) => d.workspaceId === workspaceId && d.repository.toLowerCase() === repository.toLowerCase()));
  }

  /** Resolves when background planning and settling are done (tests). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private async planEverywhere(e: PullRequestFacts): Promise<number> {
    let planned = 0;
    for (const ws of await this.store.access.listWorkspaces()) planned += await this.plan(ws.id, e);
    return planned;
  }

  /**
   * Queues the run of event `e` in a workspace that allows its repository, if the upload for its
   * commit is complete there; returns how many dispatches it added.
   */
  private async plan(workspaceId: string, e: PullRequestFacts): Promise<number> {
    if (!(await this.store.access.getRepository(workspaceId, e.repository))) return 0;
    const upload = await this.store.atmos.getAffectedStacks(workspaceId, e.repository, e.headSha);
    if (!upload) return 0;
    const runId = e.deliveryId;
    const { planned, skipped } = planAtmosRun(upload.stacks, e, runId);
    let added = 0;
    for (const p of planned) {
      let r;
      try {
        r = await this.service.enqueue(
          workspaceId,
          upload.uploadedBy,
          { key: p.key, repository: e.repository, workflow: p.workflow, ref: p.ref, inputs: p.inputs, pullRequest: e.number, headSha: e.headSha },
          { kind: 'atmos', stack: p.stack, component: p.component, action: atmosAction(e), atmosRunId: runId },
          {
            runId,
            dedupeKey: JSON.stringify([runId, p.stack, p.component, p.workflow]),
            heldFor: p.after,
            reason: p.after.length > 0 ? `waiting for ${p.after.map(name).join(', ')} to finish` : null,
          },
        );
      } catch (error) {
        // A dispatch GitHub would refuse (too many inputs, a bad workflow name in the settings)
        // is not queued; the rest of the run still is, and the pull request says why.
        if (!(error instanceof DomainError) || error.tag !== 'ValidationError') throw error;
        const why = `${p.workflow}: ${error.message}`;
        this.options.log.warn(
          { workspaceId, repository: e.repository, pullRequest: e.number, runId, key: p.key, stack: p.stack, component: p.component, workflow: p.workflow, reason: error.message },
          `atmos run ${runId}: not dispatching ${p.workflow} for '${p.key}': ${error.message}`,
        );
        this.statuses.refused(e.repository, e.headSha, p.key, why);
        continue;
      }
      if (r.created) added++;
    }
    if (added > 0) {
      this.options.log.info(
        { workspaceId, repository: e.repository, pullRequest: e.number, runId, added, skipped: skipped.map((s) => `${name(s)}: ${s.why}`) },
        `atmos run ${runId}: queued ${added} dispatch(es) for ${e.repository}#${e.number} (${e.action})`,
      );
    }
    return added;
  }

  /** Checks every held dependent (optionally only some) against what its run's stacks reported. */
  private async settleAll(only: (d: Dispatch) => boolean = () => true): Promise<void> {
    const runs = new Map<string, { workspaceId: string; runId: string }>();
    for (const d of await this.store.dispatches.heldDispatches(BATCH)) {
      if (d.runId && only(d)) runs.set(`${d.workspaceId}\u0000${d.runId}`, { workspaceId: d.workspaceId, runId: d.runId });
    }
    for (const r of runs.values()) await this.settle(r.workspaceId, r.runId);
  }

  private async settle(workspaceId: string, runId: string): Promise<void> {
    const rows = await this.store.dispatches.runDispatches(workspaceId, runId);
    for (const d of rows) {
      if (d.state !== 'waiting_for_lock' || !d.heldFor) continue;
      const remaining: StackRef[] = [];
      let failure: string | null = null;
      for (const p of d.heldFor) {
        const verdict = await this.prerequisite(d, p, rows, runId);
        if (verdict === 'done') continue;
        if (verdict === 'waiting') remaining.push(p);
        else {
          failure = verdict;
          break;
        }
      }
      if (failure) {
        const r = await this.store.dispatches.cancel(workspaceId, d.id, 'system', `not dispatched: ${failure}`);
        if (r.outcome === 'cancelled') {
          this.statuses.sync(r.dispatch);
          this.dispatcher.wake(workspaceId, d.key);
        }
      } else if (remaining.length < d.heldFor.length) {
        const next = await this.store.dispatches.unhold(workspaceId, d.id, d.heldFor, remaining.length > 0 ? remaining : null);
        if (next) {
          this.statuses.sync(next);
          if (!next.heldFor) this.dispatcher.wake(workspaceId, d.key);
        }
      }
    }
  }

  /** Whether stack `p` of the run finished (`done`), may still (`waiting`), or never will (why not). */
  private async prerequisite(d: Dispatch, p: StackRef, rows: Dispatch[], runId: string): Promise<'done' | 'waiting' | string> {
    const ps = rows.filter((r) => r.source.stack === p.stack && r.source.component === p.component);
    const sent = ps.filter((r) => r.dispatchedAt).map((r) => (r.dispatchedAt as Date).getTime());
    if (sent.length > 0) {
      const s = await this.store.atmos.getInstanceStatus(d.workspaceId, d.repository, p.stack, p.component);
      const ofThisRun = s && s.reportedAt.getTime() >= Math.min(...sent) && (s.report.atmos_pro_run_id === undefined || String(s.report.atmos_pro_run_id) === runId);
      if (s && ofThisRun) {
        return instanceOutcome(s.command, s.exitCode) === 'failed' ? `${name(p)} failed (${s.command} exit code ${s.exitCode})` : 'done';
      }
    }
    if (ps.length > 0 && ps.every((r) => TERMINAL_STATES.has(r.state) && r.state !== 'dispatched')) {
      return `${name(p)} was not dispatched (${ps.map((r) => r.state.replace(/_/g, ' ')).join(', ')})`;
    }
    return 'waiting';
  }

  private track<T>(p: Promise<T>): Promise<void> {
    const q = p.then(
      () => undefined,
      (error) => this.options.log.error({ err: error }, 'atmos flow work failed'),
    );
    this.running.add(q);
    void q.finally(() => this.running.delete(q));
    return q;
  }
}
