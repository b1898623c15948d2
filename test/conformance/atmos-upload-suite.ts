import { beforeAll, describe, expect, it } from 'vitest';
import type { AffectedStacksBatch } from '../../src/core/ports/atmos-uploads.js';
import type { Store } from '../../src/core/ports/store.js';
import { openForSuite, type StoreHarness } from './access-store-suite.js';

const stack = (component: string, stackName: string, extra = {}) => ({ component, stack: stackName, included_in_dependents: false, dependents: [], settings: null, ...extra });

/** The atmos upload port (affected stacks in batches, instance statuses): the same cases on every backend. */
export function atmosUploadConformance(name: string, harness: StoreHarness): void {
  describe(`AtmosUploadStore conformance: ${name}`, () => {
    const suite = openForSuite(harness);
    let store: Store;
    beforeAll(() => {
      store = suite.store();
    });
    const fresh = suite.fresh;
    const batch = (ws: string, over: Partial<AffectedStacksBatch>): AffectedStacksBatch => ({
      workspaceId: ws, repository: 'acme/infra', headSha: 'abc123', baseSha: 'base1', repoUrl: 'https://github.com/acme/infra', repoHost: 'github.com',
      uploadId: 'b-1', batchIndex: 0, batchTotal: 1, stacks: [], uploadedBy: 'repo:acme/infra', ...over,
    });

    it('an upload is readable only once all its batches arrived, in batch order, whatever the arrival order', async () => {
      const ws = await fresh();
      const parts = [[stack('vpc', 'dev')], [stack('eks', 'dev', { settings: { pro: { enabled: true } } })], [stack('rds', 'prod'), stack('s3', 'prod')]];
      expect(await store.atmos.putAffectedStacksBatch(batch(ws, { batchIndex: 2, batchTotal: 3, stacks: parts[2]! }))).toEqual({ uploadId: 'b-1', received: 1, total: 3, complete: false });
      expect(await store.atmos.putAffectedStacksBatch(batch(ws, { batchIndex: 0, batchTotal: 3, stacks: parts[0]! }))).toMatchObject({ received: 2, complete: false });
      expect(await store.atmos.getAffectedStacks(ws, 'acme/infra', 'abc123')).toBeNull();
      expect(await store.atmos.putAffectedStacksBatch(batch(ws, { batchIndex: 1, batchTotal: 3, stacks: parts[1]! }))).toMatchObject({ received: 3, complete: true });
      const upload = await store.atmos.getAffectedStacks(ws, 'ACME/Infra', 'abc123');
      expect(upload).toMatchObject({ workspaceId: ws, uploadId: 'b-1', repository: 'acme/infra', headSha: 'abc123', baseSha: 'base1', repoHost: 'github.com', uploadedBy: 'repo:acme/infra' });
      expect(upload!.stacks).toEqual(parts.flat());
      expect(upload!.completedAt).toBeInstanceOf(Date);
      expect(await store.atmos.getAffectedStacks(ws, 'acme/infra', 'other-sha')).toBeNull();
      expect(await store.atmos.getAffectedStacks(await fresh(), 'acme/infra', 'abc123')).toBeNull();
    });

    it('a batch sent again is harmless; with other stacks, or another commit or total, it is a Conflict', async () => {
      const ws = await fresh();
      const b0 = batch(ws, { batchTotal: 2, stacks: [stack('vpc', 'dev')] });
      await store.atmos.putAffectedStacksBatch(b0);
      expect(await store.atmos.putAffectedStacksBatch(b0)).toMatchObject({ received: 1, complete: false });
      await expect(store.atmos.putAffectedStacksBatch({ ...b0, stacks: [stack('eks', 'dev')] })).rejects.toMatchObject({ tag: 'Conflict' });
      await expect(store.atmos.putAffectedStacksBatch({ ...b0, batchIndex: 1, headSha: 'zzz' })).rejects.toMatchObject({ tag: 'Conflict' });
      await expect(store.atmos.putAffectedStacksBatch({ ...b0, batchIndex: 1, batchTotal: 3 })).rejects.toMatchObject({ tag: 'Conflict' });
      await expect(store.atmos.putAffectedStacksBatch({ ...b0, batchIndex: 1, repository: 'acme/other' })).rejects.toMatchObject({ tag: 'Conflict' });
      const done = await store.atmos.putAffectedStacksBatch({ ...b0, batchIndex: 1, stacks: [stack('eks', 'dev')] });
      expect(done).toMatchObject({ received: 2, complete: true });
      expect(await store.atmos.putAffectedStacksBatch(b0)).toMatchObject({ received: 2, complete: true });
      expect((await store.atmos.getAffectedStacks(ws, 'acme/infra', 'abc123'))!.stacks).toEqual([stack('vpc', 'dev'), stack('eks', 'dev')]);
    });

    it('the latest complete upload of a commit wins; batches of one upload arriving together count once each', async () => {
      const ws = await fresh();
      await store.atmos.putAffectedStacksBatch(batch(ws, { uploadId: 'first', stacks: [stack('a', 'dev')] }));
      const parts = Array.from({ length: 8 }, (_, i) => batch(ws, { uploadId: 'second', batchIndex: i, batchTotal: 8, stacks: [stack(`c${i}`, 'dev')] }));
      const results = await Promise.all([...parts, ...parts].map((p) => store.atmos.putAffectedStacksBatch(p)));
      expect(results.filter((r) => r.complete).length).toBeGreaterThanOrEqual(1);
      const upload = await store.atmos.getAffectedStacks(ws, 'acme/infra', 'abc123');
      expect(upload!.uploadId).toBe('second');
      expect(upload!.stacks.map((s) => s.component)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']);
    });

    it('keeps the latest status of each instance, with the whole report', async () => {
      const ws = await fresh();
      const r = { workspaceId: ws, repository: 'Acme/Infra', stack: 'plat-ue2-dev', component: 'vpc', command: 'plan', exitCode: 2, report: { command: 'plan', exit_code: 2, atmos_pro_run_id: 'run-1' }, reportedBy: 'repo:acme/infra' };
      const first = await store.atmos.putInstanceStatus(r);
      expect(first.reportedAt).toBeInstanceOf(Date);
      await store.atmos.putInstanceStatus({ ...r, command: 'apply', exitCode: 0, report: { command: 'apply', exit_code: 0, last_run: '2026-06-09T10:00:00Z' } });
      const got = await store.atmos.getInstanceStatus(ws, 'acme/infra', 'plat-ue2-dev', 'vpc');
      expect(got).toMatchObject({ repository: 'Acme/Infra', command: 'apply', exitCode: 0, report: { command: 'apply', exit_code: 0, last_run: '2026-06-09T10:00:00Z' }, reportedBy: 'repo:acme/infra' });
      expect(await store.atmos.getInstanceStatus(ws, 'acme/infra', 'plat-ue2-dev', 'eks')).toBeNull();
      expect(await store.atmos.getInstanceStatus(await fresh(), 'acme/infra', 'plat-ue2-dev', 'vpc')).toBeNull();
    });
  });
}
