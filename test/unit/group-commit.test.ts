import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupCommitter } from '../../src/store/sqlite/group-commit.js';
import { tempDir } from '../support/app.js';

describe('SQLite group commit', () => {
  let db: Database.Database;
  let writes: GroupCommitter;
  const rows = () => (db.prepare('SELECT v FROM t ORDER BY v').all() as Array<{ v: string }>).map((r) => r.v);

  beforeEach(() => {
    db = new Database(join(tempDir(), 'g.db'));
    db.pragma('journal_mode = WAL');
    db.exec(`CREATE TABLE t (v TEXT PRIMARY KEY);
             CREATE TABLE parent (id INTEGER PRIMARY KEY);
             CREATE TABLE child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)`);
    db.pragma('foreign_keys = ON');
    writes = new GroupCommitter(db);
  });
  afterEach(() => db.close());

  const insert = (v: string) => () => db.prepare('INSERT INTO t (v) VALUES (?)').run(v).changes;

  it('commits the writes of one turn of the event loop once, running each write once', async () => {
    const calls = new Map<string, number>();
    const counted = (v: string) => () => {
      calls.set(v, (calls.get(v) ?? 0) + 1);
      return insert(v)();
    };
    const done = await Promise.all(['a', 'b', 'c'].map((v) => writes.run(counted(v))));
    expect(done).toEqual([1, 1, 1]);
    expect(writes.stats()).toEqual({ commits: 1, writes: 3 });
    expect([...calls.values()]).toEqual([1, 1, 1]);
    expect(rows()).toEqual(['a', 'b', 'c']);
  });

  it('a write that throws after writing fails alone: its rows are undone, the others commit, hooks run once', async () => {
    const hooks: string[] = [];
    const withHook = (v: string) => () => {
      writes.onCommit(() => hooks.push(v));
      return insert(v)();
    };
    const failing = () => {
      writes.onCommit(() => hooks.push('bad'));
      insert('half-written')();
      throw new Error('refused after writing');
    };
    const outcomes = await Promise.allSettled([writes.run(withHook('a')), writes.run(failing), writes.run(withHook('b'))]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toEqual(new Error('refused after writing'));
    expect(rows()).toEqual(['a', 'b']);
    expect(hooks).toEqual(['a', 'b']);
    expect(writes.stats()).toEqual({ commits: 1, writes: 3 });
  });

  it('a lone write that throws is rolled back and rejected', async () => {
    await expect(
      writes.run(() => {
        insert('x')();
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(rows()).toEqual([]);
  });

  it('a commit that fails rejects every write of the group and keeps none of them', async () => {
    const orphan = () => db.prepare('INSERT INTO child (p) VALUES (42)').run().changes;
    const outcomes = await Promise.allSettled([writes.run(insert('a')), writes.run(orphan), writes.run(insert('b'))]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(String((outcomes[0] as PromiseRejectedResult).reason)).toMatch(/FOREIGN KEY/);
    expect(rows()).toEqual([]);
    expect(await writes.run(insert('c'))).toBe(1);
    expect(rows()).toEqual(['c']);
  });
});
