import pg from 'pg';
import { expect, it } from 'vitest';
import { startLocalPostgres } from '../support/embedded-postgres.js';

/**
 * A crash restart under load: the clients' "the database system is starting up" refusals arrive
 * in the same chunk as the ready line, which a start must still see (it once hung the history run).
 */
it('restarts the embedded PostgreSQL, crashed and clean, while clients keep connecting', async () => {
  const local = await startLocalPostgres('stacklock-restart');
  const pool = new pg.Pool({ connectionString: local.url, max: 20 });
  pool.on('error', () => undefined);
  const busy = setInterval(() => {
    for (let i = 0; i < 20; i++) pool.query('SELECT pg_sleep(0.05)').catch(() => undefined);
  }, 20);
  try {
    for (let i = 0; i < 4; i++) await local.restart(500, { crash: i % 2 === 0 });
    clearInterval(busy);
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  } finally {
    clearInterval(busy);
    await pool.end();
    await local.destroy();
  }
}, 60_000);
