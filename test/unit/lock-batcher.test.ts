import { describe, expect, it } from 'vitest';
import { LockBatcher } from '../../src/store/postgres/lock-batcher.js';

type Row = { i: number; value: string };

/** A fake stacklock_apply: answers each op's `name` back, numbered; refuses batches holding `fail`. */
function fakeDatabase(options: { failWith?: (ops: readonly object[]) => Error | null } = {}) {
  const calls: string[][] = [];
  let release: (() => void) | null = null;
  const send = async (ops: readonly object[]): Promise<Row[]> => {
    const names = ops.map((op) => (op as { name: string }).name);
    calls.push(names);
    // The first call waits until the test lets it go, so the next ops queue up behind it.
    if (calls.length === 1) await new Promise<void>((resolve) => (release = resolve));
    const error = options.failWith?.(ops);
    if (error) throw error;
    return names.flatMap((name, k) => (name === 'none' ? [] : [{ i: k + 1, value: `done ${name}` }]));
  };
  return { send, calls, go: () => release?.() };
}

/** The end of the event loop's current turn, when the batcher sends what arrived in it. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('LockBatcher', () => {
  it('sends the ops of one turn of the event loop together when nothing is in flight, and those that arrive meanwhile after it', async () => {
    const db = fakeDatabase();
    const batcher = new LockBatcher<Row>(db.send, () => true, 1);
    const first = batcher.run({ name: 'a' });
    const second = batcher.run({ name: 'a2' });
    expect(db.calls).toEqual([]);
    await turn();
    expect(db.calls).toEqual([['a', 'a2']]);
    const rest = ['b', 'none', 'c'].map((name) => batcher.run({ name }));
    await turn();
    expect(db.calls).toEqual([['a', 'a2']]);
    db.go();
    expect(await first).toEqual({ i: 1, value: 'done a' });
    expect(await second).toEqual({ i: 2, value: 'done a2' });
    expect(await Promise.all(rest)).toEqual([{ i: 1, value: 'done b' }, null, { i: 3, value: 'done c' }]);
    expect(db.calls).toEqual([['a', 'a2'], ['b', 'none', 'c']]);
  });

  it('runs each op of a refused batch again on its own, so only the failing op’s caller sees the failure', async () => {
    const db = fakeDatabase({
      failWith: (ops) => (ops.some((op) => (op as { name: string }).name === 'bad') ? new Error('deadlock detected') : null),
    });
    const batcher = new LockBatcher<Row>(db.send, () => true, 1);
    const first = batcher.run({ name: 'a' });
    await turn();
    const rest = ['b', 'bad', 'c'].map((name) => batcher.run({ name }));
    db.go();
    await first;
    const outcomes = await Promise.allSettled(rest);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(db.calls).toEqual([['a'], ['b', 'bad', 'c'], ['b'], ['bad'], ['c']]);
  });

  it('gives every caller of the batch the failure when it may not be retried (the database unreachable)', async () => {
    const db = fakeDatabase({ failWith: (ops) => (ops.length > 1 ? new Error('ECONNRESET') : null) });
    const batcher = new LockBatcher<Row>(db.send, () => false, 1);
    const first = batcher.run({ name: 'a' });
    await turn();
    const rest = ['b', 'c'].map((name) => batcher.run({ name }));
    db.go();
    await first;
    const outcomes = await Promise.allSettled(rest);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(db.calls).toEqual([['a'], ['b', 'c']]);
  });

  it('keeps at most maxInFlight batches running and at most maxBatch ops in one', async () => {
    let running = 0;
    let most = 0;
    const sizes: number[] = [];
    const send = async (ops: readonly object[]) => {
      running++;
      most = Math.max(most, running);
      sizes.push(ops.length);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      return ops.map((_, k) => ({ i: k + 1, value: 'x' }));
    };
    const batcher = new LockBatcher<Row>(send, () => true, 2, 10);
    const rows = await Promise.all(Array.from({ length: 95 }, (_, n) => batcher.run({ name: `k${n}` })));
    expect(rows.every((row) => row?.value === 'x')).toBe(true);
    expect(most).toBe(2);
    expect(Math.max(...sizes)).toBe(10);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(95);
  });

  it('starts a second batch beside a running one only once enough ops wait for it', async () => {
    const db = fakeDatabase();
    const batcher = new LockBatcher<Row>(db.send, () => true, 2, 100, 3);
    const first = batcher.run({ name: 'a' });
    await turn();
    const b = batcher.run({ name: 'b' });
    const c = batcher.run({ name: 'c' });
    await turn();
    // Two wait behind the running batch: fewer than three, so they keep waiting.
    expect(db.calls).toEqual([['a']]);
    const d = batcher.run({ name: 'd' });
    await turn();
    // Three wait: they go out together beside the first.
    expect(db.calls).toEqual([['a'], ['b', 'c', 'd']]);
    const e = batcher.run({ name: 'e' });
    expect(await Promise.all([b, c, d])).toEqual([{ i: 1, value: 'done b' }, { i: 2, value: 'done c' }, { i: 3, value: 'done d' }]);
    // One batch still runs and one op waits: it goes out only when nothing else runs.
    expect(db.calls).toEqual([['a'], ['b', 'c', 'd']]);
    db.go();
    expect(await first).toEqual({ i: 1, value: 'done a' });
    expect(await e).toEqual({ i: 1, value: 'done e' });
    expect(db.calls).toEqual([['a'], ['b', 'c', 'd'], ['e']]);
  });
});
