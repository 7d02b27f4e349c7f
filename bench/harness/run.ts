// bench/harness/run: the benchmark harness's entry (issue 7). Builds one lab (client, dir1,
// three real servers), runs every scenario against every balancer, interleaved (each
// round visits the balancers in a rotated order) and repeated (warm-up rounds, then N
// measured rounds), and writes bench/results/<timestamp>.json, .md (a table per scenario:
// median, min–max, ratio to direct and to kernel NAT) and one SVG chart per scenario.
// Bounded in time: no new balancer run starts past the budget. Numbers only: nothing here
// asserts a speed.
//
//   node dist/bench/harness/run.js [--quick] [--repeats N] [--seconds S] [--warmup N]
//                                  [--balancers a,b] [--scenarios conns,keepalive,pps,bulk,latency]
//                                  [--budget SECONDS] [--out DIR] [--prefix bh] [--no-docs]
//   node dist/bench/harness/run.js --ipvs-tcg [--seconds S]   (kernel IPVS vs uvs in a QEMU guest)
//   (also `uvs bench ...`, `npm run bench -- ...`)
//
// --quick (the CI smoke run): one round of every balancer, 1 s runs, no warm-up round,
// shorter ramps, 128 MiB bulk transfers, a 140 s budget for starting runs (under 3 minutes
// in all). A full run (not --quick, not
// --no-docs, default output directory) also appends its summary and the machine's facts
// to docs/benchmarks.md (bench/harness/summary.ts).

import { cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildLab, type Lab } from '../../src/lab/index.js';
import { dropFlood, median } from '../tools/measure.js';
import { ALL_BALANCERS, availableBalancers } from './balancers.js';
import { appendSummary, fmt, scenarioTables, type Cell } from './summary.js';
import { ALL_SCENARIOS, type Metrics, type Scenario } from './scenarios.js';
import { chartSvg } from './svg.js';
import { isMainModule } from '../../src/lab/main-module.js';

const USAGE = 'usage: uvs bench [--quick] [--repeats N] [--seconds S] [--warmup N] [--balancers a,b] [--scenarios a,b] [--budget SECONDS] [--out DIR] [--prefix NAME] [--no-docs]';

interface Settings {
  quick: boolean;
  repeats: number;
  seconds: number;
  warmup: number;
  /** Seconds after which no new balancer run starts (the lab build counts). */
  budget: number;
  outDir: string;
  prefix: string;
  balancerNames: string[] | undefined;
  scenarioNames: string[] | undefined;
  /** Append the summary to docs/benchmarks.md. */
  docs: boolean;
}

class UsageError extends Error {
  readonly code = 'UVS_BENCH_USAGE';
}

const DEFAULT_OUT = fileURLToPath(new URL('../../../bench/results/', import.meta.url));
const DOCS = fileURLToPath(new URL('../../../docs/benchmarks.md', import.meta.url));

function settingsOf(argv: string[]): Settings {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
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
        'no-docs': { type: 'boolean', default: false },
      },
    }));
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n${USAGE}`);
  }
  const number = (flag: string, v: string | undefined, dflt: number, lo: number, hi: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < lo || n > hi) throw new UsageError(`--${flag} ${v}: expected a number from ${lo} to ${hi}`);
    return n;
  };
  const names = (flag: string, v: string | undefined, known: readonly string[]): string[] | undefined => {
    if (v === undefined) return undefined;
    const list = v.split(',').map((x) => x.trim()).filter((x) => x !== '');
    const unknown = list.filter((x) => !known.includes(x));
    if (unknown.length > 0 || list.length === 0) throw new UsageError(`--${flag} ${v}: unknown ${unknown.join(', ') || '(empty)'}; known: ${known.join(', ')}`);
    return list;
  };
  const quick = values.quick ?? false;
  const outDir = values.out ?? DEFAULT_OUT;
  return {
    quick,
    repeats: number('repeats', values.repeats, quick ? 1 : 5, 1, 20),
    seconds: number('seconds', values.seconds, quick ? 1 : 3, 0.5, 30),
    warmup: number('warmup', values.warmup, quick ? 0 : 1, 0, 3),
    budget: number('budget', values.budget, quick ? 140 : 2400, 10, 7200),
    outDir,
    prefix: values.prefix ?? 'bh',
    balancerNames: names('balancers', values.balancers, ALL_BALANCERS.map((b) => b.name)),
    scenarioNames: names('scenarios', values.scenarios, ALL_SCENARIOS.map((x) => x.name)),
    docs: !quick && !values['no-docs'] && values.out === undefined,
  };
}

let t0 = Date.now();
const elapsed = (): number => (Date.now() - t0) / 1000;

function progress(done: number, total: number, what: string): void {
  const w = 24;
  const filled = Math.round((done / Math.max(1, total)) * w);
  const line = `[${'#'.repeat(filled)}${'-'.repeat(w - filled)}] ${done}/${total} ${what} ${elapsed().toFixed(0)}s`;
  if (process.stderr.isTTY) process.stderr.write(`\r${line.padEnd(100)}`);
  else process.stderr.write(`${line}\n`);
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

/** Runs the harness; returns the exit code (2: bad usage). */
export async function run(argv: string[]): Promise<number> {
  // Kernel IPVS NAT against uvs NAT inside one QEMU TCG guest (issue 8; bench/harness/ipvs-tcg.ts).
  if (argv.includes('--ipvs-tcg')) return (await import('./ipvs-tcg.js')).ipvsTcgMain(argv.filter((a) => a !== '--ipvs-tcg'));
  let settings: Settings;
  try {
    settings = settingsOf(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`uvs bench: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  await main(settings);
  return 0;
}

async function main(settings: Settings): Promise<void> {
  const { quick, repeats, seconds, warmup, budget, outDir } = settings;
  t0 = Date.now();
  const { balancers, skipped } = availableBalancers(settings.balancerNames);
  const scenarios: Scenario[] = settings.scenarioNames ? ALL_SCENARIOS.filter((s) => settings.scenarioNames!.includes(s.name)) : [...ALL_SCENARIOS];
  const samples = new Map<string, Metrics[]>(); // `${balancer}/${scenario}` → one Metrics per measured round
  const errors: { balancer: string; scenario: string; round: number; error: string }[] = [];
  const rounds = warmup + repeats;
  const steps = rounds * balancers.length;
  let step = 0;
  let truncated = false;

  progress(0, steps, 'building the lab');
  const lab = await buildLab({ prefix: settings.prefix, servers: 3, mode: 'nat', vipOnLo: true, replace: true });
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
    const panels = sc.metrics.filter((m) => m.ratio || m.chart).map((m) => ({
      title: `${m.label}${m.unit ? ` (${m.unit})` : ''}${m.higherIsBetter ? '' : ', lower is better'}`,
      bars: balancers
        .filter((b) => sc.skip(b) === null)
        .map((b) => {
          const c = cells.find((x) => x.balancer === b.name && x.scenario === sc.name && x.metric === m.key);
          return { name: b.name, median: c?.median ?? null, min: c?.min ?? null, max: c?.max ?? null };
        }),
      format: fmt,
    }));
    writeFileSync(join(outDir, `${stamp}-${sc.name}.svg`), chartSvg(`${sc.name}: ${sc.description}`, panels));
  }
  md.push(...scenarioTables(scenarios, balancers, cells, { heading: '##', chart: (name) => `${stamp}-${name}.svg` }));
  const mdText = md.join('\n');
  writeFileSync(join(outDir, `${stamp}.md`), mdText);
  process.stdout.write(mdText);
  process.stdout.write(`\nwritten: ${join(outDir, stamp)}.{json,md} and ${scenarios.length} SVG chart(s)\n`);
  if (settings.docs) {
    const tables = scenarioTables(scenarios, balancers, cells, { heading: '####', chart: (name) => `../bench/results/${stamp}-${name}.svg` });
    appendSummary(DOCS, { stamp, startedAt: new Date(t0).toISOString(), seconds: elapsed(), machine: facts, options, truncated, skipped, cells, balancers: balancers.map((b) => ({ name: b.name, label: b.label })), tables });
    process.stdout.write(`summary appended to ${DOCS}\n`);
  }
}

if (isMainModule(import.meta.url)) {
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`\nbench harness: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
