import type { DispatchInputs, InputValue, StackRef } from './dispatch.js';
import { validateKey } from './lock-rules.js';
import type { JsonObject } from './types.js';

/** What stacklock keeps of a GitHub `pull_request` webhook. */
export interface PullRequestFacts {
  /** `X-GitHub-Delivery`: unique per event; a redelivery carries the same id. */
  readonly deliveryId: string;
  /** `owner/repo` of the base repository. */
  readonly repository: string;
  /** GitHub's action: opened, synchronize, reopened, closed, … */
  readonly action: string;
  readonly merged: boolean;
  readonly number: number;
  readonly headSha: string;
  readonly headRef: string;
  readonly baseRef: string;
  readonly mergeCommitSha: string | null;
}

/**
 * The `settings.pro.pull_request.<action>` an event selects: `merged` for a pull request closed
 * by merging, nothing for one closed without merging, else GitHub's own action name.
 */
export function atmosAction(e: Pick<PullRequestFacts, 'action' | 'merged'>): string | null {
  if (e.action === 'closed') return e.merged ? 'merged' : null;
  return e.action;
}

export interface PlannedDispatch extends StackRef {
  readonly key: string;
  readonly workflow: string;
  readonly ref: string;
  readonly inputs: DispatchInputs;
  /** Stacks of this run it goes after: those it depends on that have a dispatch of their own. */
  readonly after: StackRef[];
}

export interface Skipped extends StackRef {
  readonly why: string;
}

interface Node extends StackRef {
  readonly settings: JsonObject | null;
  readonly dependents: StackRef[];
}

const refId = (r: StackRef) => `${r.stack}\u0000${r.component}`;
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every stack of the upload, nested dependents included, once, with who depends on it. */
function flatten(stacks: readonly JsonObject[]): Node[] {
  const nodes = new Map<string, Node>();
  const visit = (s: JsonObject): StackRef | null => {
    if (typeof s.stack !== 'string' || typeof s.component !== 'string') return null;
    const ref = { stack: s.stack, component: s.component };
    const id = refId(ref);
    let node = nodes.get(id);
    if (!node) {
      node = { ...ref, settings: null, dependents: [] };
      nodes.set(id, node);
    }
    if (node.settings === null && isObject(s.settings)) nodes.set(id, (node = { ...node, settings: s.settings }));
    for (const d of Array.isArray(s.dependents) ? s.dependents : []) {
      if (!isObject(d)) continue;
      const dep = visit(d);
      if (dep && !node.dependents.some((x) => refId(x) === refId(dep))) node.dependents.push(dep);
    }
    return ref;
  };
  for (const s of stacks) visit(s);
  return [...nodes.values()];
}

const TEMPLATE = /\{\{\s*\.(atmos_component|atmos_stack)\s*\}\}/g;

/** `{{ .atmos_component }}` and `{{ .atmos_stack }}` filled in, as Atmos Pro does. */
function fill(value: unknown, ref: StackRef): InputValue {
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return s.replace(TEMPLATE, (_m, name: string) => (name === 'atmos_component' ? ref.component : ref.stack));
}

/** `workflows` as a map of file → {inputs}, or a list of file names. */
function workflowsOf(settings: JsonObject | null, action: string): Array<[string, JsonObject]> | null {
  const pro = isObject(settings?.pro) ? settings.pro : null;
  if (!pro || pro.enabled === false) return null;
  const forAction = isObject(pro.pull_request) && isObject(pro.pull_request[action]) ? pro.pull_request[action] : null;
  const workflows = forAction?.workflows;
  if (Array.isArray(workflows)) return workflows.filter((w): w is string => typeof w === 'string').map((w) => [w, {}]);
  if (isObject(workflows)) return Object.entries(workflows).map(([w, cfg]) => [w, isObject(cfg) ? cfg : {}]);
  return null;
}

/**
 * The dispatches an Atmos run makes: for each affected stack (dependents included) whose
 * `settings.pro.pull_request.<action>.workflows` names workflows, one dispatch per workflow with
 * key `<owner>/<repo>/<stack>/<component>` (the key `atmos pro lock` takes), inputs filled in,
 * plus `sha` and `atmos_pro_run_id` unless the settings set them. Stacks with
 * `settings.pro.enabled: false` or no workflows for the action are skipped. A dependent goes
 * after the stacks it depends on that have dispatches of their own in this run.
 */
export function planAtmosRun(stacks: readonly JsonObject[], e: PullRequestFacts, runId: string): { planned: PlannedDispatch[]; skipped: Skipped[] } {
  const action = atmosAction(e);
  const planned: PlannedDispatch[] = [];
  const skipped: Skipped[] = [];
  if (!action) return { planned, skipped };
  const nodes = flatten(stacks);
  const sha = action === 'merged' && e.mergeCommitSha ? e.mergeCommitSha : e.headSha;
  const ref = action === 'merged' ? e.baseRef : e.headRef;
  const dispatching = new Set<string>();
  const perNode = new Map<string, Array<Omit<PlannedDispatch, 'after'>>>();
  for (const n of nodes) {
    const workflows = workflowsOf(n.settings, action);
    if (!workflows || workflows.length === 0) {
      const disabled = isObject(n.settings?.pro) && n.settings.pro.enabled === false;
      skipped.push({ stack: n.stack, component: n.component, why: disabled ? 'settings.pro.enabled is false' : `no workflows for ${action}` });
      continue;
    }
    const key = `${e.repository}/${n.stack}/${n.component}`;
    try {
      validateKey(key);
    } catch (error) {
      skipped.push({ stack: n.stack, component: n.component, why: (error as Error).message });
      continue;
    }
    dispatching.add(refId(n));
    perNode.set(
      refId(n),
      workflows.map(([workflow, cfg]) => {
        const inputs: DispatchInputs = {};
        for (const [name, value] of Object.entries(isObject(cfg.inputs) ? cfg.inputs : {})) inputs[name] = fill(value, n);
        inputs.sha ??= sha;
        inputs.atmos_pro_run_id ??= runId;
        return { stack: n.stack, component: n.component, key, workflow, ref, inputs };
      }),
    );
  }
  const prerequisites = new Map<string, StackRef[]>();
  for (const n of nodes) {
    if (!dispatching.has(refId(n))) continue;
    for (const d of n.dependents) {
      if (!dispatching.has(refId(d)) || refId(d) === refId(n)) continue;
      prerequisites.set(refId(d), [...(prerequisites.get(refId(d)) ?? []), { stack: n.stack, component: n.component }]);
    }
  }
  breakCycles(prerequisites);
  for (const n of nodes) {
    for (const p of perNode.get(refId(n)) ?? []) planned.push({ ...p, after: prerequisites.get(refId(n)) ?? [] });
  }
  return { planned, skipped };
}

/** atmos reports an acyclic graph; should one ever loop, the edge closing the loop is dropped rather than wait forever. */
function breakCycles(prerequisites: Map<string, StackRef[]>): void {
  const state = new Map<string, 'open' | 'done'>();
  const walk = (id: string): void => {
    state.set(id, 'open');
    const kept: StackRef[] = [];
    for (const p of prerequisites.get(id) ?? []) {
      const pid = refId(p);
      if (state.get(pid) === 'open') continue;
      if (!state.has(pid)) walk(pid);
      kept.push(p);
    }
    if (prerequisites.has(id)) prerequisites.set(id, kept);
    state.set(id, 'done');
  };
  for (const id of [...prerequisites.keys()]) if (!state.has(id)) walk(id);
}
