import { describe, expect, it } from 'vitest';
import { atmosAction, planAtmosRun, type PullRequestFacts } from '../../src/core/atmos-plan.js';

const e: PullRequestFacts = {
  deliveryId: 'run-1', repository: 'acme/infra', action: 'opened', merged: false, number: 7,
  headSha: 'a'.repeat(40), headRef: 'feature', baseRef: 'main', mergeCommitSha: 'm'.repeat(40),
};
const pro = (pullRequest: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ pro: { pull_request: pullRequest, ...extra } });
const stack = (component: string, settings: unknown, dependents: unknown[] = []) => ({ component, stack: 'prod', settings, dependents });

describe('planning an Atmos run', () => {
  it('maps GitHub actions to settings.pro actions', () => {
    expect(atmosAction({ action: 'opened', merged: false })).toBe('opened');
    expect(atmosAction({ action: 'synchronize', merged: false })).toBe('synchronize');
    expect(atmosAction({ action: 'closed', merged: true })).toBe('merged');
    expect(atmosAction({ action: 'closed', merged: false })).toBeNull();
  });

  it('fills the atmos templates, adds sha and atmos_pro_run_id unless set, and keys by owner/repo/stack/component', () => {
    const settings = pro({
      opened: {
        workflows: {
          'plan.yaml': { inputs: { component: '{{ .atmos_component }}', stack: '{{.atmos_stack}}', both: '{{ .atmos_stack }}-{{ .atmos_component }}', n: 3, debug: true, obj: { a: 1 } } },
          'lint.yaml': { inputs: { sha: 'pinned' } },
        },
      },
    });
    const { planned } = planAtmosRun([stack('vpc/main', settings)], e, 'run-1');
    expect(planned).toEqual([
      {
        stack: 'prod', component: 'vpc/main', key: 'acme/infra/prod/vpc/main', workflow: 'plan.yaml', ref: 'feature', after: [],
        inputs: { component: 'vpc/main', stack: 'prod', both: 'prod-vpc/main', n: 3, debug: true, obj: '{"a":1}', sha: 'a'.repeat(40), atmos_pro_run_id: 'run-1' },
      },
      expect.objectContaining({ workflow: 'lint.yaml', inputs: { sha: 'pinned', atmos_pro_run_id: 'run-1' } }),
    ]);
  });

  it('accepts a list of workflow files, skips disabled stacks and stacks without workflows, and says why', () => {
    const { planned, skipped } = planAtmosRun(
      [
        stack('a', pro({ opened: { workflows: ['plan.yaml'] } })),
        stack('b', pro({ opened: { workflows: ['plan.yaml'] } }, { enabled: false })),
        stack('c', pro({ merged: { workflows: ['apply.yaml'] } })),
        stack('d', null),
      ],
      e,
      'r',
    );
    expect(planned.map((p) => [p.component, p.workflow])).toEqual([['a', 'plan.yaml']]);
    expect(skipped).toEqual([
      { stack: 'prod', component: 'b', why: 'settings.pro.enabled is false' },
      { stack: 'prod', component: 'c', why: 'no workflows for opened' },
      { stack: 'prod', component: 'd', why: 'no workflows for opened' },
    ]);
  });

  it('flattens nested dependents once, holds each after the planned stacks it depends on, and skips a hop without workflows', () => {
    const on = pro({ opened: { workflows: ['plan.yaml'] } });
    const { planned } = planAtmosRun(
      [
        stack('vpc', on, [stack('eks', on, [stack('app', on)]), stack('dns', null, [stack('cdn', on)])]),
        stack('eks', on), // also listed at the top (included_in_dependents)
      ],
      e,
      'r',
    );
    expect(planned.map((p) => [p.component, p.after.map((a) => a.component)])).toEqual([
      ['vpc', []],
      ['eks', ['vpc']],
      ['app', ['eks']],
      ['cdn', []],
    ]);
  });

  it('drops the edge that would close a dependency cycle', () => {
    const on = pro({ opened: { workflows: ['plan.yaml'] } });
    const { planned } = planAtmosRun([stack('a', on, [stack('b', on, [stack('a', on)])])], e, 'r');
    const after = Object.fromEntries(planned.map((p) => [p.component, p.after.map((x) => x.component)]));
    expect(after.a!.length + after.b!.length).toBe(1);
  });

  it('plans the merged workflows at the base branch with the merge commit', () => {
    const { planned } = planAtmosRun([stack('vpc', pro({ merged: { workflows: ['apply.yaml'] } }))], { ...e, action: 'closed', merged: true }, 'r');
    expect(planned[0]).toMatchObject({ ref: 'main', inputs: { sha: 'm'.repeat(40) } });
    expect(planAtmosRun([stack('vpc', pro({ merged: { workflows: ['apply.yaml'] } }))], { ...e, action: 'closed' }, 'r').planned).toEqual([]);
  });
});
