import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { freePort, packageBinaries, startLocalPostgres } from '../support/embedded-postgres.js';
import { makeTempDir, removeTempDir } from '../support/temp.js';

const { Client } = pg;

/** Regular files in `dir` and in its subdirs, not deeper. */
function filesNear(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isFile()) files.push(path);
    else if (entry.isDirectory()) {
      try {
        for (const inner of readdirSync(path, { withFileTypes: true })) if (inner.isFile()) files.push(join(path, inner.name));
      } catch {
        // Gone, or not ours to list.
      }
    }
  }
  return files;
}

/** The embedded PostgreSQL of the tests, as root too: what it writes, and what it leaves. */
describe('embedded PostgreSQL', () => {
  let area: string;
  let name: string;
  let previousTmpdir: string | undefined;
  let poller: NodeJS.Timeout;
  /** Mode of every regular file seen in the area while it existed (password files among them). */
  let fileModes: Map<string, number>;
  let blocker: Server | null = null;

  beforeEach(() => {
    area = makeTempDir('stacklock-pg-hygiene-');
    // As root the cluster runs as `postgres`, which must pass through to its files.
    if (process.getuid?.() === 0) chmodSync(area, 0o711);
    name = `stacklock-hygiene-${randomBytes(4).toString('hex')}`;
    // Whatever goes to the system temp dir lands here too, where the checks look.
    previousTmpdir = process.env.TMPDIR;
    process.env.TMPDIR = area;
    fileModes = new Map();
    // Looks every few ms (initdb reads its password file for a second or more) at the files in the
    // area and one level down (the cluster's dir), not into the data and binaries they hold.
    poller = setInterval(() => {
      for (const path of filesNear(area)) {
        try {
          fileModes.set(path.slice(area.length + 1), statSync(path).mode & 0o777);
        } catch {
          // Gone again before we looked.
        }
      }
    }, 5);
  });

  afterEach(async () => {
    clearInterval(poller);
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

  test('binaries in a dir closed to others (a clone in /root, as root) still run, from a copy removed with the cluster', async () => {
    const closed = makeTempDir('stacklock-pg-closed-');
    chmodSync(closed, 0o700);
    const { postgres } = await packageBinaries();
    execFileSync('cp', ['-a', dirname(dirname(postgres)), join(closed, 'native')]);
    const binaries = { initdb: join(closed, 'native/bin/initdb'), postgres: join(closed, 'native/bin/postgres') };
    try {
      const pg = await startLocalPostgres(name, { baseDir: area, binaries });
      const client = new Client({ connectionString: pg.url });
      await client.connect();
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await client.end();
      await pg.restart(0, { crash: true });
      await pg.destroy();
      expect(leftovers()).toEqual([]);
    } finally {
      removeTempDir(closed);
    }
  });
});
