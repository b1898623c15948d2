import { expect, it } from 'vitest';
import { formatReport, runHistory } from './run-history.js';

const seconds = Number(process.env.SOAK_SECONDS ?? 300);

it(`history soak: ${seconds} s of 30 clients on 3 replicas, faults every 20 s, no violation`, async () => {
  const report = await runHistory({ replicas: 3, clients: 30, keys: 4, durationMs: seconds * 1000, ttlMs: 2_000, database: 'own', faults: true });
  console.log(formatReport('soak', report));
  expect(report.faults.filter((f) => f.what.startsWith('kill -9')).length).toBeGreaterThanOrEqual(1);
  expect(report.violations).toEqual([]);
  expect(report.crashes).toEqual([]);
}, (Number(process.env.SOAK_SECONDS ?? 300) + 180) * 1000);
