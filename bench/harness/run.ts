// bench/harness/run: the benchmark harness's entry (issue 7). Builds one lab (client, dir1,
// three real servers), runs every scenario against every balancer, interleaved (each
// round visits the balancers in a rotated order) and repeated (warm-up rounds, then N
// measured rounds), and writes bench/results/<timestamp>.json, .md (a table per scenario:
// median, min–max, ratio to direct and to kernel NAT) and one SVG chart per scenario.
// Bounded in time: no new balancer run starts past the budget. Numbers only: nothing here
// asserts a speed.
//
//   node dist/bench/harness/run.js [--quick] [--repeats N] [--seconds S] [--warmup N]
//                                  [--balancers a,b] [--scenarios conns,pps,bulk]
//                                  [--budget SECONDS] [--out DIR] [--prefix bh]
//
// --quick: 2 rounds, 1 s runs, no warm-up round, 128 MiB bulk transfers, a 130 s budget for
// starting runs (under 3 minutes in all).

import { cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildLab, type Lab } from '../../src/lab/index.js';
import { dropFlood, median } from '../tools/measure.js';
import { availableBalancers } from './balancers.js';
import { ALL_SCENARIOS, type Metric, type Metrics, type Scenario } from './scenarios.js';
import { chartSvg } from './svg.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    repeats: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    balancers: { type: 'string' },
    scenarios: { type: 'string' },
    budget: { type: 'string' },
    out: { type: 'string' },
    prefix: { type: 'string', default: 'bh' },
  },
});

const quick = values.quick;
const clamp = (v: string | undefined, dflt: number, lo: number, hi: number): number => (v === undefined || !Number.isFinite(Number(v)) ? dflt : Math.max(lo, Math.min(hi, Number(v))));
const repeats = clamp(values.repeats, quick ? 2 : 5, 1, 20);
const seconds = clamp(values.seconds, quick ? 1 : 3, 0.5, 30);
const warmup = clamp(values.warmup, quick ? 0 : 1, 0, 3);
/** Seconds after which no new balancer run starts (the lab build counts). */
const budget = clamp(values.budget, quick ? 130 : 1800, 10, 7200);
const outDir = values.out ?? fileURLToPath(new URL('../../../bench/results/', import.meta.url));

interface Cell {
  balancer: string;
  scenario: string;
  metric: string;
  samples: number[];
  median: number | null;
  min: number | null;
  max: number | null;
}

const t0 = Date.now();
const elapsed = (): number => (Date.now() - t0) / 1000;

function progress(done: number, total: number, what: string): void {
  const w = 24;
  const filled = Math.round((done / Math.max(1, total)) * w);
  const line = `[${'#'.repeat(filled)}${'-'.repeat(w - filled)}] ${done}/${total} ${what} ${elapsed().toFixed(0)}s`;
  if (process.stderr.isTTY) process.stderr.write(`\r${line.padEnd(100)}`);
  else process.stderr.write(`${line}\n`);
}

function fmt(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a >= 1e5) return `${(v / 1e3).toFixed(0)}k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function machine(): Record<string, string | number> {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '?',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: process.platform === 'linux' ? (process.report?.getReport() as { header?: { osRelease?: string } } | undefined)?.header?.osRelease ?? '?' : process.platform,
    node: process.version,
  };
}

async function prepare(lab: Lab): Promise<void> {
  await dropFlood(lab);
  // The client opens tens of thousands of connections per run: a wide port range, and
  // TIME_WAIT reuse, so ports reused across targets (direct vs VIP) do not stall.
  await lab.exec('client', ['sysctl', '-qw', 'net.ipv4.ip_local_port_range=1024 65000']).catch(() => '');
  await lab.exec('client', ['sysctl', '-qw', 'net.ipv4.tcp_tw_reuse=1']).catch(() => '');
}

async function main(): Promise<void> {
  const names = values.balancers?.split(',');
  const { balancers, skipped } = availableBalancers(names);
  const scenarios: Scenario[] = values.scenarios ? ALL_SCENARIOS.filter((s) => values.scenarios!.split(',').includes(s.name)) : [...ALL_SCENARIOS];
  const samples = new Map<string, Metrics[]>(); // `${balancer}/${scenario}` → one Metrics per measured round
  const errors: { balancer: string; scenario: string; round: number; error: string }[] = [];
  const rounds = warmup + repeats;
  const steps = rounds * balancers.length;
  let step = 0;
  let truncated = false;

  progress(0, steps, 'building the lab');
  const lab = await buildLab({ prefix: values.prefix, servers: 3, mode: 'nat', vipOnLo: true, replace: true });
  try {
    await prepare(lab);
    outer: for (let round = 0; round < rounds; round++) {
      const measured = round >= warmup;
      // Interleave: each round starts one balancer further along.
      const order = balancers.map((_, i) => balancers[(i + round) % balancers.length]!);
      for (const b of order) {
        if (elapsed() > budget) {
          truncated = true;
          break outer;
        }
        step++;
        const tag = `${measured ? `round ${round - warmup + 1}/${repeats}` : `warm-up ${round + 1}/${warmup}`} ${b.name}`;
        progress(step - 1, steps, `${tag} setup`);
        let running;
        try {
          running = await b.setup(lab);
        } catch (e) {
          errors.push({ balancer: b.name, scenario: 'setup', round, error: (e as Error).message });
          continue;
        }
        const previous: Record<string, Metrics> = {};
        try {
          for (const sc of scenarios) {
            if (sc.skip(b) !== null) continue;
            progress(step - 1, steps, `${tag} ${sc.name}`);
            try {
              const note = (msg: string): void => void errors.push({ balancer: b.name, scenario: sc.name, round, error: msg });
              const m = await sc.run({ lab, balancer: b, running, seconds, quick, note, previous });
              previous[sc.name] = m;
              if (measured) {
                const k = `${b.name}/${sc.name}`;
                if (!samples.has(k)) samples.set(k, []);
                samples.get(k)!.push(m);
              }
            } catch (e) {
              errors.push({ balancer: b.name, scenario: sc.name, round, error: (e as Error).message });
            }
          }
        } finally {
          await running.teardown().catch((e: unknown) => errors.push({ balancer: b.name, scenario: 'teardown', round, error: (e as Error).message }));
        }
      }
    }
    progress(step, steps, truncated ? 'time budget reached' : 'done');
    if (process.stderr.isTTY) process.stderr.write('\n');
  } finally {
    await lab.down();
  }

  // Summaries.
  const cells: Cell[] = [];
  for (const sc of scenarios) {
    for (const b of balancers) {
      const ms = samples.get(`${b.name}/${sc.name}`) ?? [];
      for (const m of sc.metrics) {
        const xs = ms.map((x) => x[m.key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
        cells.push({ balancer: b.name, scenario: sc.name, metric: m.key, samples: xs, median: xs.length ? median(xs) : null, min: xs.length ? Math.min(...xs) : null, max: xs.length ? Math.max(...xs) : null });
      }
    }
  }
  const cell = (b: string, s: string, m: string): Cell | undefined => cells.find((c) => c.balancer === b && c.scenario === s && c.metric === m);
  const ratio = (b: string, s: string, m: Metric, base: string): number | null => {
    const x = cell(b, s, m.key)?.median ?? null;
    const y = cell(base, s, m.key)?.median ?? null;
    return x === null || y === null || y === 0 ? null : x / y;
  };

  const stamp = new Date(t0).toISOString().replace(/[:.]/g, '-').slice(0, 19);
  mkdirSync(outDir, { recursive: true });
  const facts = machine();
  const options = { quick, repeats, seconds, warmup, budget, balancers: balancers.map((b) => b.name), scenarios: scenarios.map((s) => s.name) };
  const scenarioSkips = scenarios.flatMap((sc) => balancers.filter((b) => sc.skip(b) !== null).map((b) => ({ scenario: sc.name, balancer: b.name, reason: sc.skip(b)! })));
  writeFileSync(join(outDir, `${stamp}.json`), JSON.stringify({ startedAt: new Date(t0).toISOString(), seconds: elapsed(), machine: facts, options, truncated, skipped, scenarioSkips, errors, cells }, null, 1) + '\n');

  const md: string[] = [
    `# uvs benchmark harness, ${new Date(t0).toISOString()}`,
    '',
    `Machine: ${facts.cpus} × ${facts.cpuModel}, ${facts.memoryGiB} GiB, Linux ${facts.kernel}, Node ${facts.node}.`,
    `Run: ${quick ? '--quick, ' : ''}${warmup} warm-up round(s), ${repeats} measured round(s), balancers interleaved, ${seconds} s per timed run; ${elapsed().toFixed(0)} s in all${truncated ? ' (time budget reached: fewer rounds than asked)' : ''}.`,
    'Medians (min–max) over the measured rounds; ratios are of medians. One lab, one run: compare rows, not runs.',
    '',
    ...skipped.map((s) => `- ${s.name}: skipped: ${s.reason}`),
    ...scenarioSkips.map((s) => `- ${s.balancer} in ${s.scenario}: n/a (${s.reason})`),
    ...errors.map((e) => `- note: ${e.balancer} ${e.scenario} round ${e.round + 1}: ${e.error}`),
    '',
  ];
  for (const sc of scenarios) {
    md.push(`## ${sc.name}: ${sc.description}`, '');
    const ratioMetrics = sc.metrics.filter((m) => m.ratio);
    md.push(
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
      const rs = ratioMetrics.map((m) => {
        const d = why === null ? ratio(b.name, sc.name, m, 'direct') : null;
        const k = why === null ? ratio(b.name, sc.name, m, 'kernel-nat') : null;
        return `${d === null ? '—' : d.toFixed(2)} | ${k === null ? '—' : k.toFixed(2)}`;
      });
      md.push(`| ${b.label} | ${vals.join(' | ')} | ${rs.join(' | ')} |`);
    }
    md.push('');
    const svgName = `${stamp}-${sc.name}.svg`;
    const panels = sc.metrics.filter((m) => m.ratio || m.chart).map((m) => ({
      title: `${m.label}${m.unit ? ` (${m.unit})` : ''}${m.higherIsBetter ? '' : ', lower is better'}`,
      bars: balancers
        .filter((b) => sc.skip(b) === null)
        .map((b) => {
          const c = cell(b.name, sc.name, m.key);
          return { name: b.name, median: c?.median ?? null, min: c?.min ?? null, max: c?.max ?? null };
        }),
      format: fmt,
    }));
    writeFileSync(join(outDir, svgName), chartSvg(`${sc.name}: ${sc.description}`, panels));
    md.push(`![${sc.name}](${svgName})`, '');
  }
  md.push('Not yet: keep-alive requests/s (autocannon), ramped zero-error / zero-loss rates, kernel IPVS where present.', '');
  const mdText = md.join('\n');
  writeFileSync(join(outDir, `${stamp}.md`), mdText);
  process.stdout.write(mdText);
  process.stdout.write(`\nwritten: ${join(outDir, stamp)}.{json,md} and ${scenarios.length} SVG chart(s)\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`\nbench harness: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
