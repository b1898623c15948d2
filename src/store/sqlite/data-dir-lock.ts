import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/** Why a data dir could not be had: another server holds it. */
export class DataDirInUse extends Error {}

export interface DataDirLock {
  release(): void;
}

/**
 * Takes the data dir for this process alone: two servers on one SQLite file would race their
 * group commits and reapers. The lock is an exclusive SQLite lock on `server.lock` (an fcntl lock
 * the operating system drops when the process dies, so a crash never leaves it behind), held by
 * a connection kept open until release. `server.pid` says who holds it, for the refusal's message.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const db = new Database(join(dataDir, 'server.lock'), { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); COMMIT;');
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
    let holder = '';
    try {
      holder = ` (pid ${readFileSync(join(dataDir, 'server.pid'), 'utf8').trim()})`;
    } catch {
      // Who holds it is a courtesy.
    }
    throw new DataDirInUse(
      `another stacklock server${holder} is running on the data dir ${dataDir}: stop it first, or give this one another --data-dir ` +
        '(two servers on one SQLite file would race; for several servers use PostgreSQL, --database-url)',
    );
  }
  writeFileSync(join(dataDir, 'server.pid'), `${process.pid}\n`);
  return { release: () => db.close() };
}
