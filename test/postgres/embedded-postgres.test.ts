import { randomBytes } from 'node:crypto';
import { chmodSync, readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { freePort, startLocalPostgres } from '../support/embedded-postgres.js';
import { makeTempDir, removeTempDir } from '../support/temp.js';

/** The embedded PostgreSQL of the tests, as root too: what it writes, and what it leaves. */
describe('embedded PostgreSQL', () => {
  let area: string;
  let name: string;
  let previousTmpdir: string | undefined;
  let watcher: FSWatcher;
  /** Mode of every regular file seen directly in the area while it existed (password files among them). */
  let fileModes: Map<string, number>;
  let blocker: Server | null = null;

  beforeEach(() => {
    area = makeTempDir('stacklock-pg-hygiene-');
    // As root the cluster runs as `postgres`, which must pass through to its files.
    if (process.getuid?.() === 0) chmodSync(area, 0o711);
    name = `stacklock-hygiene-${randomBytes(4).toString('hex')}`;
    // embedded-postgres writes its password file to the system temp dir: here, this area.
    previousTmpdir = process.env.TMPDIR;
    process.env.TMPDIR = area;
    fileModes = new Map();
    watcher = watch(area, (_event, file) => {
      if (!file) return;
      try {
        const st = statSync(join(area, file));
        if (st.isFile()) fileModes.set(file, st.mode & 0o777);
      } catch {
        // Gone again before we looked.
      }
    });
  });

  afterEach(async () => {
    watcher.close();
    if (previousTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previousTmpdir;
    await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
    blocker = null;
    removeTempDir(area);
  });

  /** Entries this test's cluster left in the area or directly in the system temp dirs. */
  const leftovers = () =>
    [...new Set([area, tmpdir(), '/tmp'])].flatMap((dir) =>
      readdirSync(dir)
        .filter((entry) => dir === area || entry.startsWith(name))
        .map((entry) => join(dir, entry)),
    );

  test('a started and destroyed cluster leaves nothing, and its password files are never readable by others', async () => {
    const pg = await startLocalPostgres(name, { baseDir: area });
    await pg.destroy();
    expect(leftovers()).toEqual([]);
    // The password files for initdb came and went: none was readable by group or others.
    expect(fileModes.size).toBeGreaterThan(0);
    for (const [file, mode] of fileModes) expect({ file, mode: mode.toString(8) }).toEqual({ file, mode: '600' });
  });

  test('a start that fails (its port is taken) removes its data dir and password file, and says why', async () => {
    const port = await freePort();
    blocker = createServer();
    await new Promise<void>((resolve) => blocker!.listen(port, '127.0.0.1', resolve));
    await expect(startLocalPostgres(name, { baseDir: area, port })).rejects.toThrow(/embedded PostgreSQL did not start/);
    expect(leftovers()).toEqual([]);
    for (const [file, mode] of fileModes) expect({ file, mode: mode.toString(8) }).toEqual({ file, mode: '600' });
  });
});
