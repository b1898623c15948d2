import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { factTable, targetList, throughputTable, type Fact, type Target } from './report.js';
import { startBenchServer } from './servers.js';
import { redisPeer } from './scenarios/redis-peer.js';
import { scale } from './scenarios/scale.js';
import { ceiling, contended, lockUnlock, type BenchOptions, type Row } from './scenarios/throughput.js';

/**
 * `npm run bench`: every scenario against real server processes on loopback, one table of
 * throughput as ratios to the ceiling measured in the same run, then the scale figures and
 * the targets of issue 8. Options: --seconds (per scenario, default 10), --connections (50),
 * --only (comma list: sqlite, postgres, redis, scale), --locks (live locks for the scale
 * figures, 100000), --expiries (10000), --json <file>.
 */
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: process.env.BENCH_SECONDS ?? '10' },
    warmup: { type: 'string' },
    connections: { type: 'string', default: '50' },
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
const only = values.only ? new Set(values.only.split(',')) : null;
const wanted = (part: string) => !only || only.has(part);

const rows: Row[] = [];
const facts: Fact[] = [];
const targets: Target[] = [];
let ceilingRps = NaN;

console.error(`stacklock bench: ${o.connections} connections, ${o.seconds}s per scenario (+${o.warmupSeconds}s warm-up), ${cpus().length} CPUs`);

const sqlite = await startBenchServer('sqlite');
try {
  const top = await ceiling(sqlite, o, 'SQLite server');
  ceilingRps = top.result?.rps ?? NaN;
  rows.push(top);
  console.error(`ceiling: ${Math.round(ceilingRps)} requests/s`);
  if (wanted('sqlite')) {
    const lu = await lockUnlock([sqlite], o, 'SQLite (synchronous=FULL)');
    rows.push(lu);
    rows.push(await contended(sqlite, o, 'SQLite'));
    const x = lu.result;
    if (x) {
      targets.push({ what: 'SQLite lock+unlock ≥ 0.5 of the ceiling', met: x.rps / ceilingRps >= 0.5, measured: `${(x.rps / ceilingRps).toFixed(2)}` });
      targets.push({ what: `p99 ≤ 20 ms at ${o.connections} connections (SQLite lock+unlock)`, met: x.p99Ms <= 20, measured: `${x.p99Ms.toFixed(2)} ms` });
    }
  }
} finally {
  await sqlite.stop();
}

if (wanted('redis')) {
  rows.push(await redisPeer(o, 'no-fsync'));
  rows.push(await redisPeer(o, 'fsync-always'));
}
if (wanted('scale')) {
  const s = await scale(o, { locks: Number(values.locks), expiries: Number(values.expiries) });
  facts.push(...s.facts);
  targets.push(...s.targets);
}

console.log('\n' + throughputTable(rows, ceilingRps));
if (facts.length) console.log('\n' + factTable(facts));
console.log('\nTargets (issue 8):\n' + targetList(targets));
if (values.json) writeFileSync(values.json, JSON.stringify({ options: o, ceilingRps, rows: rows.map(({ result, ...r }) => ({ ...r, result: result && { ...result, histogram: undefined } })), facts, targets }, null, 2));
