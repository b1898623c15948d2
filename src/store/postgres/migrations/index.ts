import { sql as core } from './0001-core.js';
import { sql as access } from './0002-access.js';
import { sql as lease } from './0003-lease.js';
import { sql as dispatches } from './0004-dispatches.js';
import { sql as dashboardSessions } from './0005-dashboard-sessions.js';
import { sql as atmosUploads } from './0012-atmos-uploads.js';
import { sql as atmosDispatch } from './0016-atmos-dispatch.js';
import { sql as fenceSequences } from './0017-fence-sequences.js';
import { sql as lockFunctions } from './0018-lock-functions.js';
import { sql as batchFastPath } from './0019-batch-fast-path.js';
import { sql as batchWithoutJoins } from './0020-batch-without-joins.js';
import { sql as forceAudit } from './0021-force-audit.js';

/**
 * Append-only: never edit a migration that has shipped; add the next number. Versions mirror
 * src/store/sqlite/migrations (the same number means the same change on either backend).
 */
export const MIGRATIONS: ReadonlyArray<{ readonly version: number; readonly name: string; readonly sql: string }> = [
  { version: 1, name: 'core', sql: core },
  { version: 2, name: 'access', sql: access },
  { version: 3, name: 'lease', sql: lease },
  { version: 4, name: 'dispatches', sql: dispatches },
  { version: 5, name: 'dashboard-sessions', sql: dashboardSessions },
  { version: 12, name: 'atmos-uploads', sql: atmosUploads },
  { version: 16, name: 'atmos-dispatch', sql: atmosDispatch },
  // PostgreSQL only: SQLite has no 17.
  { version: 17, name: 'fence-sequences', sql: fenceSequences },
  // PostgreSQL only: SQLite has no 18.
  { version: 18, name: 'lock-functions', sql: lockFunctions },
  // PostgreSQL only: SQLite has no 19.
  { version: 19, name: 'batch-fast-path', sql: batchFastPath },
  // PostgreSQL only: SQLite has no 20.
  { version: 20, name: 'batch-without-joins', sql: batchWithoutJoins },
  // PostgreSQL only: SQLite has no 21 (its release is TypeScript, not a stored function).
  { version: 21, name: 'force-audit', sql: forceAudit },
];
