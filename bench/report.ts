import type { Row } from './scenarios/throughput.js';

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');

/** The throughput table, in Markdown so a run can be pasted into docs/performance.md as it is. */
export function throughputTable(rows: Row[], ceilingRps: number): string {
  const lines = [
    '| scenario | ops/s | p50 ms | p99 ms | ratio to ceiling | server CPU µs/op | notes |',
    '|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    if (!r.result) {
      lines.push(`| ${r.scenario} | – | – | – | – | – | skipped: ${r.skipped ?? 'not run'} |`);
      continue;
    }
    const x = r.result;
    const cpu = x.serverCpuSeconds > 0 ? fmt((x.serverCpuSeconds / x.responses) * 1e6, 0) : '–';
    lines.push(`| ${r.scenario} | ${Math.round(x.rps)} | ${fmt(x.p50Ms, 2)} | ${fmt(x.p99Ms, 2)} | ${fmt(x.rps / ceilingRps, 2)} | ${cpu} | ${r.note} |`);
  }
  return lines.join('\n');
}

export interface Fact {
  readonly what: string;
  readonly value: string;
  readonly note?: string;
}

export function factTable(facts: Fact[]): string {
  return ['| measure | value | notes |', '|---|---:|---|', ...facts.map((f) => `| ${f.what} | ${f.value} | ${f.note ?? ''} |`)].join('\n');
}

export interface Target {
  readonly what: string;
  /** null when the scenario did not run here. */
  readonly met: boolean | null;
  readonly measured: string;
}

export function targetList(targets: Target[]): string {
  return targets
    .map((t) => `- ${t.met === null ? 'NOT MEASURED' : t.met ? 'met' : 'MISSED'}: ${t.what} (measured: ${t.measured})`)
    .join('\n');
}
