// bench/harness/summary: one line per balancer of a run's headline numbers, appended to
// docs/benchmarks.md under "Run log" with the machine's facts, so the docs keep every full
// run's summary next to the links to its whole table and charts (bench/results/).

import { appendFileSync, readFileSync } from 'node:fs';

/** One balancer × scenario × metric of a run: its measured rounds and their summary. */
export interface Cell {
  balancer: string;
  scenario: string;
  metric: string;
  samples: number[];
  median: number | null;
  min: number | null;
  max: number | null;
}

export interface RunSummary {
  stamp: string;
  startedAt: string;
  seconds: number;
  machine: Record<string, string | number>;
  options: { quick: boolean; repeats: number; seconds: number; warmup: number };
  truncated: boolean;
  skipped: { name: string; reason: string }[];
  cells: Cell[];
  balancers: { name: string; label: string }[];
}

/** A number for a table: 3 significant figures or so, "k" past 100k, "—" for none. */
export function fmt(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a >= 1e5) return `${(v / 1e3).toFixed(0)}k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** The headline columns: scenario, metric, heading; `ratios` adds × direct and × kernel NAT. */
const HEADLINE: { scenario: string; metric: string; heading: string; ratios?: boolean }[] = [
  { scenario: 'conns', metric: 'connsPerSec', heading: 'conn/s', ratios: true },
  { scenario: 'conns', metric: 'zeroErrorConnsPerSec', heading: 'zero-error conn/s' },
  { scenario: 'conns', metric: 'cpuUsPerConn', heading: 'balancer CPU µs/conn' },
  { scenario: 'conns', metric: 'rssMiB', heading: 'balancer RSS MiB' },
  { scenario: 'keepalive', metric: 'requestsPerSec', heading: 'keep-alive req/s', ratios: true },
  { scenario: 'pps', metric: 'zeroLossPps', heading: 'zero-loss pps' },
  { scenario: 'bulk', metric: 'uploadGbps', heading: 'upload Gbit/s' },
  { scenario: 'latency', metric: 'connectP99at50', heading: 'connect p99 at 50% (µs)' },
];

export const RUN_LOG_HEADING = '## Run log (appended by `npm run bench`)';

/** The markdown of one run's summary (a level-3 section). */
export function summaryMarkdown(r: RunSummary): string {
  const median = (b: string, s: string, m: string): number | null => r.cells.find((c) => c.balancer === b && c.scenario === s && c.metric === m)?.median ?? null;
  const ratio = (b: string, s: string, m: string, base: string): string => {
    const x = median(b, s, m);
    const y = median(base, s, m);
    return x === null || y === null || y === 0 ? '—' : (x / y).toFixed(2);
  };
  const m = r.machine;
  const o = r.options;
  const lines = [
    `### ${r.startedAt}`,
    '',
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}. ` +
      `Run: ${o.warmup} warm-up + ${o.repeats} measured rounds, ${o.seconds} s per timed run, ${Math.round(r.seconds)} s in all${r.truncated ? ' (time budget reached: fewer rounds)' : ''}. ` +
      `Whole table and charts: [bench/results/${r.stamp}.md](../bench/results/${r.stamp}.md).`,
    ...r.skipped.map((s) => `Skipped: ${s.name}: ${s.reason}.`),
    '',
    `| balancer | ${HEADLINE.map((h) => (h.ratios ? `${h.heading} | × direct | × kernel NAT` : h.heading)).join(' | ')} |`,
    `| --- | ${HEADLINE.map((h) => (h.ratios ? '--- | --- | ---' : '---')).join(' | ')} |`,
    ...r.balancers.map(
      (b) =>
        `| ${b.name} | ${HEADLINE.map((h) => {
          const v = fmt(median(b.name, h.scenario, h.metric));
          return h.ratios ? `${v} | ${ratio(b.name, h.scenario, h.metric, 'direct')} | ${ratio(b.name, h.scenario, h.metric, 'kernel-nat')}` : v;
        }).join(' | ')} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

/** Appends the run's summary to the docs page, opening the run log section if it has none. */
export function appendSummary(docsPath: string, r: RunSummary): void {
  const page = readFileSync(docsPath, 'utf8');
  const head = page.includes(RUN_LOG_HEADING) ? '' : `\n${RUN_LOG_HEADING}\n\nEach full run of the harness adds its headline medians here (not --quick runs); the whole tables and SVG charts stay in bench/results/.\n`;
  appendFileSync(docsPath, `${head}\n${summaryMarkdown(r)}`);
}
