import { expect, it } from 'vitest';
import { formatReport, runHistory } from './run-history.js';

const seconds = Number(process.env.SOAK_SECONDS ?? 300);
const timeout = (seconds + 180) * 1000;

it(`history soak: ${seconds} s of 30 clients on 3 replicas, faults every 20 s, no violation`, async () => {
  const report = await runHistory({ replicas: 3, clients: 30, keys: 4, durationMs: seconds * 1000, ttlMs: 2_000, database: 'own', faults: true });
  console.log(formatReport('soak', report));
  expect(report.faults.filter((f) => f.what.startsWith('kill -9')).length).toBeGreaterThanOrEqual(1);
  expect(report.violations).toEqual([]);
  expect(report.crashes).toEqual([]);
}, timeout);

it(`history soak: ${seconds} s of 30 clients on one SQLite server, kill -9 and pauses every 20 s, no violation`, async () => {
  const report = await runHistory({ replicas: 1, clients: 30, keys: 4, durationMs: seconds * 1000, ttlMs: 2_000, database: 'sqlite', faults: true });
  console.log(formatReport('soak (SQLite)', report));
  expect(report.faults.filter((f) => f.what.startsWith('kill -9')).length).toBeGreaterThanOrEqual(1);
  expect(report.violations).toEqual([]);
  expect(report.crashes).toEqual([]);
}, timeout);
