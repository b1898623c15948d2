import { it } from 'vitest';
import { expectClean, formatReport, runHistory, type HistoryRunOptions } from './run-history.js';

const seconds = Number(process.env.SOAK_SECONDS ?? 300);

const backends: Array<{ label: string; title: string; options: Pick<HistoryRunOptions, 'replicas' | 'database'> }> = [
  { label: 'soak', title: '3 replicas, faults every 20 s', options: { replicas: 3, database: 'own' } },
  { label: 'soak (SQLite)', title: 'one SQLite server, kill -9 and pauses every 20 s', options: { replicas: 1, database: 'sqlite' } },
];

for (const { label, title, options } of backends) {
  it(`history soak: ${seconds} s of 30 clients on ${title}, no violation`, async () => {
    const report = await runHistory({ ...options, clients: 30, keys: 4, durationMs: seconds * 1000, ttlMs: 2_000, faults: true });
    console.log(formatReport(label, report));
    expectClean(report, ['kill -9']);
  }, (seconds + 180) * 1000);
}
