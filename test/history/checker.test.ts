import { describe, expect, it } from 'vitest';
import { checkHistory } from './checker.js';
import { FencedCounter } from './fenced-resource.js';
import type { Op } from './history.js';

let nextId = 0;
const acq = (holderId: string, invoke: number, complete: number, extra: Partial<Op>): Op => ({
  id: nextId++, client: 0, kind: 'acquire', key: 'k', holderId, replica: 0, invoke, complete, outcome: 'ok', ...extra,
});
const granted = (holderId: string, invoke: number, complete: number, token: number, expiresAt: number) =>
  acq(holderId, invoke, complete, { grant: 'granted', token, expiresAt });
const rel = (holderId: string, invoke: number, complete: number, outcome: Op['outcome'] = 'ok'): Op => ({
  id: nextId++, client: 0, kind: 'release', key: 'k', holderId, replica: 0, invoke, complete, outcome,
});

/** The checker on hand-made histories: it accepts what a correct lock allows and names each kind of violation. */
describe('history checker', () => {
  it('accepts grants that follow releases and expiries, renewals, refusals and unknowns', () => {
    const ops = [
      granted('a', 0, 10, 1, 1000),
      acq('b', 20, 30, { outcome: 'refused', heldBy: { holderId: 'a', token: 1, expiresAt: 1000 } }),
      acq('a', 400, 410, { grant: 'renewed', token: 1, expiresAt: 1400 }),
      rel('a', 500, 510),
      granted('b', 520, 530, 2, 1530),
      acq('c', 600, 2600, { outcome: 'unknown' }),
      // b let its lease run out; c's unknown acquire was granted after that, as a refusal shows.
      acq('d', 1600, 1610, { outcome: 'refused', heldBy: { holderId: 'c', token: 3, expiresAt: 3540 } }),
      rel('c', 2600, 2700, 'unknown'),
      granted('d', 2800, 2810, 4, 4800),
    ];
    const report = checkHistory(ops);
    expect(report.violations).toEqual([]);
    expect(report).toMatchObject({ operations: 9, grants: 4, outcomes: { ok: 5, refused: 2, unknown: 2, fail: 0 } });
  });

  it('finds two holders whose grants overlap, also when one is only known from a refusal', () => {
    const direct = checkHistory([granted('a', 0, 10, 1, 1000), granted('b', 100, 110, 2, 1100)]);
    expect(direct.violations.map((v) => v.check)).toEqual(['overlap']);
    const revealed = checkHistory([
      acq('a', 0, 2000, { outcome: 'unknown' }),
      granted('b', 100, 110, 2, 1100),
      acq('c', 200, 210, { outcome: 'refused', heldBy: { holderId: 'a', token: 1, expiresAt: 900 } }),
    ]);
    expect(revealed.violations.map((v) => v.check)).toContain('overlap');
  });

  it('does not count a grant as held past its holder’s release', () => {
    const report = checkHistory([granted('a', 0, 10, 1, 1000), rel('a', 50, 2000, 'unknown'), granted('b', 60, 70, 2, 1070)]);
    expect(report.violations).toEqual([]);
  });

  it('finds a token that does not increase in real-time order', () => {
    const lower = checkHistory([granted('a', 0, 10, 5, 100), granted('b', 200, 210, 4, 300)]);
    expect(lower.violations.map((v) => v.check)).toEqual(['token-order']);
    const reused = checkHistory([granted('a', 0, 10, 5, 100), acq('b', 200, 210, { grant: 'renewed', token: 5, expiresAt: 300 })]);
    expect(reused.violations.map((v) => v.check)).toEqual(['token-order']);
    // Concurrent operations may complete in either order.
    expect(checkHistory([granted('a', 0, 50, 5, 60), granted('b', 10, 40, 4, 45)]).violations.filter((v) => v.check === 'token-order')).toEqual([]);
  });

  it('finds lost updates on the fenced resource, which rejects lower tokens', () => {
    const fenced = new FencedCounter();
    const v1 = fenced.read(7) as number;
    const v2 = fenced.read(7) as number; // a second holder with the same token: the lock is broken
    fenced.write(7, v1 + 1);
    fenced.write(7, v2 + 1);
    expect(fenced.read(6)).toBeNull();
    const report = checkHistory([], new Map([['k', fenced]]));
    expect(report.violations).toMatchObject([{ check: 'lost-update', key: 'k' }]);
    const ok = new FencedCounter();
    const a = ok.read(1) as number;
    const b = ok.read(2) as number;
    expect(ok.write(1, a + 1)).toBe(false);
    expect(ok.write(2, b + 1)).toBe(true);
    expect(checkHistory([], new Map([['k', ok]])).violations).toEqual([]);
  });
});
