import type { Row } from './scenarios/throughput.js';

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');

/**
 * One scenario measured in one round, with the ceiling it is compared to: the mean of the ceilings
 * measured just before and just after it (NaN: the median ceiling).
 */
export interface Measured {
  readonly id: string;
  readonly round: number;
  readonly row: Row;
  readonly ceilingRps: number;
}

export interface Fact {
  readonly what: string;
  readonly value: string;
  readonly note?: string;
}

export interface Target {
  readonly what: string;
  /** null when the scenario did not run here. */
  readonly met: boolean | null;
  readonly measured: string;
}

function median<T>(items: T[], by: (t: T) => number): T {
  const sorted = [...items].sort((a, b) => by(a) - by(b));
  return sorted[Math.floor((sorted.length - 1) / 2)] as T;
}

/**
 * The throughput table, in Markdown so a run can be pasted into docs/performance.md as it is.
 * Per scenario it shows the round whose ratio to the ceilings measured around it is the median; the
 * ceiling's row is the median of its measurements, with their range.
 */
export function throughputTable(all: Measured[], rounds: number): { markdown: string; targets: Target[] } {
  const rps = (m: Measured) => m.row.result?.rps ?? NaN;
  const byId = new Map<string, Measured[]>();
  for (const m of all) byId.set(m.id, [...(byId.get(m.id) ?? []), m]);
  const ceilings = byId.get('ceiling') ?? [];
  const medianCeiling = ceilings.length ? rps(median(ceilings, rps)) : NaN;
  const ratioOf = (m: Measured) => rps(m) / (Number.isFinite(m.ceilingRps) ? m.ceilingRps : medianCeiling);
  // A ceiling's rows are each 1.00 of themselves: its median is by requests/s.
  const picked = new Map([...byId].map(([id, measured]) => [id, median(measured, id.endsWith('ceiling') ? rps : ratioOf)] as const));
  const lines = [
    '| scenario | ops/s | p50 ms | p99 ms | ratio to ceiling | server CPU µs/op | notes |',
    '|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const m of picked.values()) {
    const r = m.row;
    if (!r.result) {
      lines.push(`| ${r.scenario} | – | – | – | – | – | skipped: ${r.skipped ?? 'not run'} |`);
      continue;
    }
    const x = r.result;
    const cpu = x.serverCpuSeconds > 0 ? fmt((x.serverCpuSeconds / x.responses) * 1e6, 0) : '–';
    const spread = rounds > 1 && !m.id.endsWith('ceiling') && !m.id.startsWith('redis') ? ` (median of ${rounds} rounds)` : '';
    const same = (byId.get(m.id) ?? []).map(rps);
    const range = m.id.endsWith('ceiling') && same.length > 1
      ? `; median of ${same.length} measurements, ${Math.round(Math.min(...same))}-${Math.round(Math.max(...same))} requests/s`
      : '';
    lines.push(`| ${r.scenario} | ${Math.round(x.rps)} | ${fmt(x.p50Ms, 2)} | ${fmt(x.p99Ms, 2)} | ${fmt(ratioOf(m), 2)}${spread} | ${cpu} | ${r.note}${range} |`);
  }
  const targets: Target[] = [];
  const sqlite = picked.get('sqlite')?.row.result;
  if (sqlite) {
    const ratio = ratioOf(picked.get('sqlite') as Measured);
    targets.push({ what: 'SQLite lock+unlock ≥ 0.5 of the ceiling (synchronous=FULL; the SQLite server\'s no-op)', met: ratio >= 0.5, measured: fmt(ratio, 2) });
    targets.push({ what: 'p99 ≤ 20 ms at 50 connections (SQLite lock+unlock)', met: sqlite.p99Ms <= 20, measured: `${fmt(sqlite.p99Ms, 2)} ms` });
  }
  const pg = picked.get('pg-1');
  if (pg?.row.result) {
    const ratio = ratioOf(pg);
    targets.push({ what: 'PostgreSQL one replica lock+unlock ≥ 0.3 of the ceiling (a PostgreSQL server\'s no-op)', met: ratio >= 0.3, measured: fmt(ratio, 2) });
  }
  return { markdown: lines.join('\n'), targets };
}

export function factTable(facts: Fact[]): string {
  return ['| measure | value | notes |', '|---|---:|---|', ...facts.map((f) => `| ${f.what} | ${f.value} | ${f.note ?? ''} |`)].join('\n');
}

export function targetList(targets: Target[]): string {
  return targets
    .map((t) => `- ${t.met === null ? 'NOT MEASURED' : t.met ? 'met' : 'MISSED'}: ${t.what} (measured: ${t.measured})`)
    .join('\n');
}
