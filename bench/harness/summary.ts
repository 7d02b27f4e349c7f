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
  /** Every scenario's table and chart (scenarioTables), charts linked from docs/. */
  tables: string[];
}

function cellOf(cells: readonly Cell[], b: string, s: string, m: string): Cell | undefined {
  return cells.find((c) => c.balancer === b && c.scenario === s && c.metric === m);
}

/** Ratio of two balancers' medians of one metric, two decimals; "—" where either is missing. */
function ratioText(cells: readonly Cell[], b: string, s: string, m: string, base: string): string {
  const x = cellOf(cells, b, s, m)?.median ?? null;
  const y = cellOf(cells, base, s, m)?.median ?? null;
  return x === null || y === null || y === 0 ? '—' : (x / y).toFixed(2);
}

/** What scenarioTables needs of a scenario and a balancer (bench/harness/scenarios.ts, balancers.ts). */
interface TableScenario<B> {
  name: string;
  description: string;
  metrics: readonly { key: string; label: string; unit: string; ratio?: boolean }[];
  skip(b: B): string | null;
}

/**
 * One markdown table per scenario: each balancer's median (min–max) of every metric, and
 * for the rate metrics the ratio of medians to direct and to kernel NAT; then the chart.
 */
export function scenarioTables<B extends { name: string; label: string }>(
  scenarios: readonly TableScenario<B>[],
  balancers: readonly B[],
  cells: readonly Cell[],
  o: { heading: string; chart(scenario: string): string },
): string[] {
  const cell = (b: string, s: string, m: string): Cell | undefined => cellOf(cells, b, s, m);
  const ratio = (b: string, s: string, m: string, base: string): string => ratioText(cells, b, s, m, base);
  const md: string[] = [];
  for (const sc of scenarios) {
    const ratioMetrics = sc.metrics.filter((m) => m.ratio);
    md.push(
      `${o.heading} ${sc.name}: ${sc.description}`,
      '',
      `| balancer | ${sc.metrics.map((m) => `${m.label}${m.unit ? ` (${m.unit})` : ''}`).join(' | ')} | ${ratioMetrics.map((m) => `${m.label}: × direct | × kernel NAT`).join(' | ')} |`,
      `| --- | ${sc.metrics.map(() => '---').join(' | ')} | ${ratioMetrics.map(() => '--- | ---').join(' | ')} |`,
    );
    for (const b of balancers) {
      const why = sc.skip(b);
      const vals = sc.metrics.map((m) => {
        if (why !== null) return 'n/a';
        const c = cell(b.name, sc.name, m.key);
        if (!c || c.median === null) return '—';
        const f = m.unit === '' ? (v: number | null): string => (v === null ? '—' : String(Math.round(v))) : fmt;
        return c.samples.length > 1 ? `${f(c.median)} (${f(c.min)}–${f(c.max)})` : f(c.median);
      });
      const rs = ratioMetrics.map((m) => (why === null ? `${ratio(b.name, sc.name, m.key, 'direct')} | ${ratio(b.name, sc.name, m.key, 'kernel-nat')}` : '— | —'));
      md.push(`| ${b.label} | ${vals.join(' | ')} | ${rs.join(' | ')} |`);
    }
    md.push('', `![${sc.name}](${o.chart(sc.name)})`, '');
  }
  return md;
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
  const median = (b: string, s: string, m: string): number | null => cellOf(r.cells, b, s, m)?.median ?? null;
  const ratio = (b: string, s: string, m: string, base: string): string => ratioText(r.cells, b, s, m, base);
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
    ...r.tables,
  ];
  return lines.join('\n');
}

/** Appends the run's summary to the docs page, opening the run log section if it has none. */
export function appendSummary(docsPath: string, r: RunSummary): void {
  const page = readFileSync(docsPath, 'utf8');
  const head = page.includes(RUN_LOG_HEADING) ? '' : `\n${RUN_LOG_HEADING}\n\nEach full run of the harness adds its headline medians here (not --quick runs); the whole tables and SVG charts stay in bench/results/.\n`;
  appendFileSync(docsPath, `${head}\n${summaryMarkdown(r)}`);
}
