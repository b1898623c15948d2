import { createHistogram, performance } from 'node:perf_hooks';
import { runHttpLoad, unexpected } from '../load.js';
import type { Fact, Target } from '../report.js';
import { metricValue, type BenchServer } from '../servers.js';
import { acquireDistinct, lockUnlockDistinct } from './lock-requests.js';
import type { BenchOptions } from './throughput.js';

/**
 * `expiries` locks granted with one shared deadline (each TTL computed so they all end at the
 * same instant), while lock+unlock traffic runs on other keys. Measures how long after the
 * deadline the last `lock.expired` is recorded (the reaper polls every 250 ms, so that is
 * included), and the p99 of the other traffic before the deadline and while the reaper works.
 */
export async function reaperUnderLoad(server: BenchServer, o: BenchOptions, expiries: number, acquireRate: number): Promise<{ facts: Fact[]; targets: Target[] }> {
  const expiredBefore = await metricValue(server.url, 'stacklock_locks_expired_total');
  // Leave room to grant them all, at half the rate measured while filling, then 2 s of traffic before the deadline.
  const deadline = Date.now() + Math.max(3000, (expiries / Math.max(1, acquireRate)) * 2000 + 2000);
  const grant = await runHttpLoad({ url: server.url, token: server.token, connections: o.connections, amount: expiries,
    requests: acquireDistinct((i) => `scale/expiring/${i}`, { deadline }) });
  const grantedLate = Date.now() >= deadline - 1000;
  const badGrants = unexpected(grant, [201]);

  const perfDeadline = performance.now() + (deadline - Date.now());
  const samples: Array<[number, number]> = [];
  let doneAt = NaN;
  let watching = true;
  const watcher = (async () => {
    const giveUp = perfDeadline + 60_000;
    while (watching && performance.now() < giveUp) {
      const n = (await metricValue(server.url, 'stacklock_locks_expired_total')) - expiredBefore;
      if (n >= expiries && performance.now() >= perfDeadline) {
        doneAt = performance.now();
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const trafficSeconds = Math.max(1, (perfDeadline - performance.now()) / 1000) + 4;
  const traffic = await runHttpLoad({ url: server.url, token: server.token, connections: o.connections, seconds: trafficSeconds,
    requests: lockUnlockDistinct(`reaper-${Date.now()}`), onSample: (at, ms) => samples.push([at, ms]) });
  await watcher;
  watching = false;

  const reapSeconds = (doneAt - perfDeadline) / 1000;
  const before = p99Of(samples.filter(([at]) => at < perfDeadline));
  const during = p99Of(samples.filter(([at]) => at >= perfDeadline && at <= (Number.isNaN(doneAt) ? Infinity : doneAt)));
  const badTraffic = unexpected(traffic, [200, 201]);
  const problems = [
    grantedLate ? 'granting took until the deadline: the expiries were not all at once' : '',
    badGrants ? `${badGrants} grants failed ${JSON.stringify(grant.statuses)}` : '',
    badTraffic ? `${badTraffic} unexpected responses in the other traffic` : '',
    Number.isNaN(doneAt) ? 'not all expiries were recorded within 60 s' : '',
  ].filter(Boolean);
  const facts: Fact[] = [
    { what: `${expiries} locks expiring at one instant: last lock.expired recorded after`, value: `${reapSeconds.toFixed(2)} s`,
      note: `includes up to one reaper interval (250 ms) and 20 ms polling${problems.length ? `; ${problems.join('; ')}` : ''}` },
    { what: `p99 of other lock+unlock traffic (${o.connections} connections) while reaping`, value: `${during.p99.toFixed(2)} ms`,
      note: `${during.n} responses; p99 ${before.p99.toFixed(2)} ms over ${before.n} responses before the deadline` },
  ];
  const targets: Target[] = [
    { what: `${expiries} expiries processed in under 2 s`, met: problems.length === 0 && reapSeconds < 2, measured: `${reapSeconds.toFixed(2)} s` },
    { what: "other requests' p99 not above 50 ms meanwhile", met: problems.length === 0 && during.p99 <= 50, measured: `${during.p99.toFixed(2)} ms` },
  ];
  return { facts, targets };
}

function p99Of(samples: Array<[number, number]>): { p99: number; n: number } {
  const h = createHistogram();
  for (const [, ms] of samples) h.record(Math.max(1, Math.round(ms * 1000)));
  return { p99: samples.length ? h.percentile(99) / 1000 : NaN, n: samples.length };
}
