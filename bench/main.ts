import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { factTable, targetList, throughputTable, type Fact, type Measured, type Target } from './report.js';
import { metricValue, startBenchServer } from './servers.js';
import { postgresSetup, type PostgresSetup } from './scenarios/postgres.js';
import { redisPeer } from './scenarios/redis-peer.js';
import { scale } from './scenarios/scale.js';
import { ceiling, contended, lockUnlock, type BenchOptions, type Row, type Scenario } from './scenarios/throughput.js';

/**
 * `npm run bench`: every scenario against real server processes on loopback, one table of
 * throughput as ratios to the ceiling, then the scale figures and the targets of issue 8.
 * Options: --seconds per scenario (10), --warmup seconds, --connections (50), --rounds (1: each
 * round measures, per backend, the ceiling (an authenticated no-op of a server on that backend),
 * then each of that backend's scenarios followed by the ceiling again; a scenario's ratio is to
 * the mean of the two ceilings measured just before and just after it, and with several rounds a
 * row shows the round whose ratio is the median), --only (comma list: sqlite, postgres,
 * redis, scale), --locks (live locks for the scale figures, 100000), --expiries (10000), --json <file>.
 */
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: process.env.BENCH_SECONDS ?? '10' },
    warmup: { type: 'string' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '1' },
    only: { type: 'string' },
    locks: { type: 'string', default: '100000' },
    expiries: { type: 'string', default: '10000' },
    json: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const o: BenchOptions = {
  seconds,
  warmupSeconds: values.warmup !== undefined ? Number(values.warmup) : Math.min(3, Math.max(1, seconds / 4)),
  connections: Number(values.connections),
};
const rounds = Math.max(1, Number(values.rounds));
const only = values.only ? new Set(values.only.split(',')) : null;
const wanted = (part: string) => !only || only.has(part);
const facts: Fact[] = [];
const targets: Target[] = [];
// Other work on the machine moves every figure: the load average is printed with the results.
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const loadAtStart = load();
console.error(`stacklock bench: ${o.connections} connections, ${o.seconds}s per scenario (+${o.warmupSeconds}s warm-up), ${rounds} round(s), ${cpus().length} CPUs, load average ${loadAtStart}`);

const sqlite = await startBenchServer('sqlite');
let pgSetup: PostgresSetup | null = null;
const measured: Measured[] = [];
try {
  // Each backend's scenarios are compared to the no-op of a server on that backend (the SQLite
  // server reads the caller's token from SQLite at every request; a PostgreSQL server keeps it
  // for a second, so its no-op is the faster one).
  const groups: Array<{ ceilingId: string; ceiling: () => Promise<Row>; scenarios: Scenario[] }> = [];
  if (wanted('sqlite')) {
    const commits = () => metricValue(sqlite.url, 'stacklock_store_commits_total');
    groups.push({
      ceilingId: 'ceiling',
      ceiling: () => ceiling(sqlite, o, 'SQLite server'),
      scenarios: [
        { id: 'sqlite', run: () => lockUnlock([sqlite], o, 'SQLite (synchronous=FULL)', [], commits) },
        { id: 'sqlite-contention', run: () => contended(sqlite, o, 'SQLite') },
      ],
    });
  }
  if (wanted('postgres')) {
    pgSetup = await postgresSetup(o);
    groups.push({ ceilingId: 'pg-ceiling', ceiling: pgSetup.ceiling, scenarios: pgSetup.scenarios });
  }
  // The machine's speed drifts by tens of percent within a minute: each scenario runs between two
  // measurements of its ceiling, and its ratio is to their mean.
  for (let round = 1; round <= rounds; round++) {
    for (const group of groups) {
      const measureCeiling = async () => {
        const top = await group.ceiling();
        const rps = top.result?.rps ?? NaN;
        measured.push({ id: group.ceilingId, round, row: top, ceilingRps: rps });
        console.error(`round ${round}: ${top.scenario}: ${Math.round(rps)} requests/s`);
        return rps;
      };
      let before = await measureCeiling();
      for (const s of group.scenarios) {
        const row = await s.run();
        const after = await measureCeiling();
        const around = (before + after) / 2;
        measured.push({ id: s.id, round, row, ceilingRps: around });
        console.error(`round ${round}: ${row.scenario}: ${Math.round(row.result?.rps ?? NaN)} ops/s, ${((row.result?.rps ?? NaN) / around).toFixed(2)} of the ceilings around it`);
        before = after;
      }
    }
  }
} finally {
  await pgSetup?.close();
  await sqlite.stop();
}

if (wanted('redis')) {
  for (const durability of ['no-fsync', 'fsync-always'] as const) {
    const row = await redisPeer(o, durability);
    // The peer runs once, against the median ceiling.
    measured.push({ id: `redis-${durability}`, round: 1, row, ceilingRps: NaN });
  }
}
if (wanted('scale')) {
  const s = await scale(o, { locks: Number(values.locks), expiries: Number(values.expiries) });
  facts.push(...s.facts);
  targets.push(...s.targets);
}

const table = throughputTable(measured, rounds);
targets.unshift(...table.targets);
console.log(`\n${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}; load average ${loadAtStart} at the start, ${load()} at the end (1, 5, 15 min)`);
console.log('\n' + table.markdown);
if (facts.length) console.log('\n' + factTable(facts));
console.log('\nTargets (issue 8):\n' + targetList(targets));
if (values.json) {
  const plain = measured.map(({ row, ...m }) => ({ ...m, row: { ...row, result: row.result && { ...row.result, histogram: undefined } } }));
  writeFileSync(values.json, JSON.stringify({ options: o, rounds, measured: plain, facts, targets }, null, 2));
}
