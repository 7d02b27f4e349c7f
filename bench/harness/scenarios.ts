// bench/harness/scenarios: what the harness measures through each balancer (issue 7).
// Each scenario runs from the lab's client namespace against the balancer's target and
// returns named metrics (null where a metric does not apply, e.g. CPU of a kernel path).
//
//   conns  new TCP connections/s: one 16-byte request per connection, echoed, closed, 64 at
//          a time for a fixed time (the C client bench/c/conn-blast.c); only verified ones count;
//          balancer CPU µs per connection (user + system of the balancer's process); then
//          the offered rate ramped (open loop) for the highest with zero errors; the
//          balancer's resident memory after the run.
//   keepalive  HTTP requests/s over 32 persistent connections (autocannon, via
//          bench/harness/keepalive-load.ts); balancer CPU µs per request.
//   pps    UDP 60-byte frames flooded by the C generator (bench/c/afp-blast.c via
//          bench/tools/measure.ts); delivered = the servers' eth0 rx counters (they drop
//          the flood in prerouting); balancer CPU µs per delivered packet; then the
//          offered rate ramped (paced generator) for the highest with zero loss.
//   Both also report the whole machine's busy CPU per connection / packet (hostBusy):
//   the only CPU figure the kernel's own paths (softirq) have.
//   bulk   one upload to the digest service (SHA-256 checked) and one HTTP download
//          (length and content checked), Gbit/s each (src/lab/load.ts upload/download).
//
//   latency  connect and first-byte times (µs) of a separate probe process (100 new
//          connections/s) while a paced load (open loop) runs at 50% and then 90% of the
//          conns median this balancer just reached in the same round.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../../src/lab/index.js';
import { connBlast, type ConnLoadResult } from '../tools/conn-blast.js';
import { cpuSeconds, flood, rxPackets } from '../tools/measure.js';
import type { Balancer, RunningBalancer } from './balancers.js';

const LOAD = fileURLToPath(new URL('../../src/lab/load.js', import.meta.url));
const KEEPALIVE_LOAD = fileURLToPath(new URL('./keepalive-load.js', import.meta.url));

export interface Metric {
  key: string;
  label: string;
  unit: string;
  /** true: more is better (rates); false: less is better (costs). */
  higherIsBetter: boolean;
  /** Compared with direct and kernel NAT in the tables and charted. */
  ratio?: boolean;
  /** Charted (every ratio metric is; costs are charted without ratios). */
  chart?: boolean;
}

export interface ScenarioContext {
  lab: Lab;
  balancer: Balancer;
  running: RunningBalancer;
  /** Seconds per timed run. */
  seconds: number;
  quick: boolean;
  /** Records something worth reading next to the numbers (failures, their kinds). */
  note(msg: string): void;
  /** This balancer's earlier scenarios in the same round (latency reads conns). */
  previous: Record<string, Metrics>;
}

export type Metrics = Record<string, number | null>;

export interface Scenario {
  name: string;
  description: string;
  metrics: Metric[];
  /** null: runs; a string: why it does not apply to this balancer. */
  skip(b: Balancer): string | null;
  run(ctx: ScenarioContext): Promise<Metrics>;
}

/** CPU seconds (user + system, all threads) of a process; 0 without a pid. */
function cpu(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    return cpuSeconds(pid).reduce((a, b) => a + b, 0);
  } catch {
    return 0;
  }
}

/** Resident memory of a process in MiB (VmRSS: every thread's, shared pages included); null without a pid. */
function residentMiB(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return kb ? Number(kb[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Busy CPU seconds of the whole machine (all cores: user, nice, system, irq, softirq,
 * steal; USER_HZ = 100). The client, the servers and the generator are the same for every
 * balancer, so differences between balancers are what the balancer costs, kernel paths
 * (softirq) included.
 */
function hostBusy(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return (user + nice + system + irq + softirq + steal) / 100;
}

/** CPU seconds spent while a load ran: the balancer's process (null: a kernel path) and the whole machine's. */
interface Spent {
  balancer: number | null;
  host: number;
}

/** Runs `load` and returns its result with the CPU seconds spent meanwhile. */
async function measured<T>(ctx: ScenarioContext, load: () => Promise<T>): Promise<[T, Spent]> {
  const pid = ctx.running.pid;
  const h0 = hostBusy();
  const c0 = cpu(pid);
  const result = await load();
  const c1 = cpu(pid);
  const h1 = hostBusy();
  return [result, { balancer: pid === undefined ? null : c1 - c0, host: h1 - h0 }];
}

/** Microseconds of `seconds` per unit of work (null stays null). */
const usPer = (seconds: number | null, units: number): number | null => (seconds === null ? null : (seconds * 1e6) / Math.max(1, units));

const lastJson = <T>(out: string): T => JSON.parse(out.trim().split('\n').pop() || '{}') as T;
const stdoutOf = (e: unknown): string => (e as { stdout?: string }).stdout ?? '{}';

/** One run of the C connections client from the client namespace against this balancer. */
function connLoad(ctx: ScenarioContext, seconds: number, o: { rate?: number; concurrency?: number; latency?: boolean } = {}): Promise<ConnLoadResult> {
  const { hosts, port } = ctx.running.target;
  return connBlast(ctx.lab, 'client', { hosts, port, seconds, ...o, proxy: ctx.balancer.proxy });
}

/** Offered rates of the zero-error ramp, as fractions of the closed-loop maximum. */
const RAMP_STEPS = [0.5, 0.7, 0.85, 1.0, 1.15] as const;
const QUICK_RAMP_STEPS = [0.6, 0.9, 1.1] as const;

/**
 * Runs `attempt` at rising offered rates (fractions of `max`, in order) and returns the
 * highest offered rate that passed, stopping at the first that did not (DPVS's and
 * Maglev's "highest rate with zero errors / zero loss"); 0 when even the first failed.
 */
async function ramp(max: number, steps: readonly number[], attempt: (rate: number) => Promise<boolean>): Promise<number> {
  let best = 0;
  for (const f of steps) {
    const rate = Math.max(1, Math.round(max * f));
    if (!(await attempt(rate))) break;
    best = rate;
  }
  return best;
}

export const conns: Scenario = {
  name: 'conns',
  description: 'new TCP connections/s (16-byte request, echoed, closed; verified only): closed loop with 64 concurrent, then the offered rate ramped for the highest with zero errors',
  metrics: [
    { ratio: true, key: 'connsPerSec', label: 'new connections, closed loop', unit: 'conn/s', higherIsBetter: true },
    { ratio: true, key: 'zeroErrorConnsPerSec', label: 'highest zero-error offered rate', unit: 'conn/s', higherIsBetter: true },
    { chart: true, key: 'cpuUsPerConn', label: 'balancer CPU per connection', unit: 'µs', higherIsBetter: false },
    { chart: true, key: 'hostCpuUsPerConn', label: 'whole-machine CPU per connection', unit: 'µs', higherIsBetter: false },
    { chart: true, key: 'rssMiB', label: 'balancer resident memory after the run', unit: 'MiB', higherIsBetter: false },
    { key: 'failed', label: 'failed connections', unit: '', higherIsBetter: false },
  ],
  skip: () => null,
  async run(ctx) {
    await connLoad(ctx, 0.3); // warm-up: neighbours, the balancer's first connections
    const [r, spent] = await measured(ctx, () => connLoad(ctx, ctx.seconds));
    if (r.failed > 0 || r.ok === 0) ctx.note(`${r.ok} ok, ${r.failed} failed: ${JSON.stringify(r.errors)}`);
    const connsPerSec = r.ms > 0 ? r.ok / (r.ms / 1000) : 0;
    // The ramp: open loop (connections started on a schedule, at most 512 in flight); a
    // step passes when none failed, none had to be skipped for want of a free slot, and
    // at least 97% of the offered connections completed within the step.
    const stepSeconds = ctx.quick ? 1 : 1.5;
    const zeroErrorConnsPerSec = await ramp(connsPerSec, ctx.quick ? QUICK_RAMP_STEPS : RAMP_STEPS, async (rate) => {
      const s = await connLoad(ctx, stepSeconds, { rate, concurrency: 512 });
      const pass = s.failed === 0 && (s.dropped ?? 0) === 0 && s.ok >= 0.97 * rate * stepSeconds;
      if (!pass) ctx.note(`ramp stopped at ${rate}/s offered: ${s.ok} ok of ${Math.round(rate * stepSeconds)} due, ${s.failed} failed ${JSON.stringify(s.errors)}, ${s.dropped ?? 0} not started (512 in flight)`);
      return pass;
    });
    return {
      connsPerSec,
      zeroErrorConnsPerSec,
      cpuUsPerConn: usPer(spent.balancer, r.ok),
      hostCpuUsPerConn: usPer(spent.host, r.ok),
      rssMiB: residentMiB(ctx.running.pid),
      failed: r.failed ?? 0,
    };
  },
};

interface KeepaliveOut {
  ok: number;
  failed: number;
  requestsPerSec: number;
  latencyP50: number;
  latencyP99: number;
}

export const keepalive: Scenario = {
  name: 'keepalive',
  description: 'HTTP requests/s over 32 keep-alive connections (autocannon; every body checked)',
  metrics: [
    { ratio: true, key: 'requestsPerSec', label: 'requests', unit: 'req/s', higherIsBetter: true },
    { chart: true, key: 'cpuUsPerRequest', label: 'balancer CPU per request', unit: 'µs', higherIsBetter: false },
    { key: 'latencyP50', label: 'latency p50', unit: 'µs', higherIsBetter: false },
    { key: 'latencyP99', label: 'latency p99', unit: 'µs', higherIsBetter: false },
    { key: 'failed', label: 'failed requests', unit: '', higherIsBetter: false },
  ],
  skip: () => null,
  async run(ctx) {
    const urls = ctx.running.target.hosts.map((h) => `http://${h}:80/`);
    const secs = String(Math.max(1, Math.round(ctx.seconds)));
    const [out, spent] = await measured(ctx, () => ctx.lab.exec('client', [process.execPath, KEEPALIVE_LOAD, ...urls, '--seconds', secs, '--connections', '32'], { timeoutMs: (Number(secs) + 30) * 1000 }).catch(stdoutOf));
    const r = lastJson<Partial<KeepaliveOut>>(out);
    if (typeof r.ok !== 'number') throw new Error(`keep-alive driver gave no result: ${out.slice(-300)}`);
    if ((r.failed ?? 0) > 0 || r.ok === 0) ctx.note(`${r.ok} ok, ${r.failed} failed`);
    return {
      requestsPerSec: r.requestsPerSec ?? 0,
      cpuUsPerRequest: usPer(spent.balancer, r.ok),
      latencyP50: typeof r.latencyP50 === 'number' ? r.latencyP50 * 1000 : null,
      latencyP99: typeof r.latencyP99 === 'number' ? r.latencyP99 * 1000 : null,
      failed: r.failed ?? 0,
    };
  },
};

/** Fractions of the flat-out delivered rate the zero-loss ramp offers. */
const LOSS_RAMP_STEPS = [0.25, 0.5, 0.7, 0.85, 1.0] as const;
const QUICK_LOSS_RAMP_STEPS = [0.3, 0.6, 0.9] as const;

export const pps: Scenario = {
  name: 'pps',
  description: 'UDP 60-byte frames flooded by the C generator; delivered to the servers; then the offered rate ramped for the highest with zero loss',
  metrics: [
    { ratio: true, key: 'deliveredPps', label: 'delivered, flat out', unit: 'pps', higherIsBetter: true },
    { ratio: true, key: 'zeroLossPps', label: 'highest zero-loss offered rate', unit: 'pps', higherIsBetter: true },
    { key: 'offeredPps', label: 'offered', unit: 'pps', higherIsBetter: true },
    { chart: true, key: 'cpuUsPerPacket', label: 'balancer CPU per delivered packet', unit: 'µs', higherIsBetter: false },
    { chart: true, key: 'hostCpuUsPerPacket', label: 'whole-machine CPU per delivered packet', unit: 'µs', higherIsBetter: false },
  ],
  skip: (b) => (b.udp ? null : 'does not balance UDP'),
  async run(ctx) {
    const host = ctx.running.target.host;
    /** Floods for `secs` (paced at `rate`), waits for stragglers, returns sent and delivered. */
    const measure = async (secs: number, rate?: number): Promise<{ sent: number; delivered: number; seconds: number; spent: Spent }> => {
      const rx0 = await rxPackets(ctx.lab);
      const [b, spent] = await measured(ctx, () => flood(ctx.lab, host, secs, rate));
      await new Promise((r) => setTimeout(r, 200));
      return { sent: b.sent, delivered: (await rxPackets(ctx.lab)) - rx0, seconds: b.seconds, spent };
    };
    await flood(ctx.lab, host, 0.3);
    const m = await measure(ctx.seconds);
    const deliveredPps = m.delivered / m.seconds;
    // Zero loss: every frame sent reached a server (the servers' counters also see the odd
    // ARP or neighbour probe, which can only make a step look less lossy, never more).
    const stepSeconds = ctx.quick ? 0.5 : 1;
    const zeroLossPps = await ramp(deliveredPps, ctx.quick ? QUICK_LOSS_RAMP_STEPS : LOSS_RAMP_STEPS, async (rate) => {
      const s = await measure(stepSeconds, rate);
      const pass = s.sent > 0 && s.delivered >= s.sent;
      if (!pass) ctx.note(`zero-loss ramp stopped at ${rate} pps offered: ${s.delivered} of ${s.sent} delivered`);
      return pass;
    });
    return {
      deliveredPps,
      zeroLossPps,
      offeredPps: m.sent / m.seconds,
      cpuUsPerPacket: usPer(m.spent.balancer, m.delivered),
      hostCpuUsPerPacket: usPer(m.spent.host, m.delivered),
    };
  },
};

interface Bulk {
  ok: boolean;
  gbps: number;
  error?: string;
}

export const bulk: Scenario = {
  name: 'bulk',
  description: 'one long TCP connection each way: upload (SHA-256 checked), HTTP download (checked)',
  metrics: [
    { ratio: true, key: 'uploadGbps', label: 'upload', unit: 'Gbit/s', higherIsBetter: true },
    { ratio: true, key: 'downloadGbps', label: 'download', unit: 'Gbit/s', higherIsBetter: true },
  ],
  skip: () => null,
  async run(ctx) {
    const host = ctx.running.target.host;
    const bytes = String((ctx.quick ? 128 : 512) * 2 ** 20);
    const go = async (mode: 'upload' | 'download', port: number): Promise<number | null> => {
      const out = await ctx.lab.exec('client', [process.execPath, LOAD, mode, host, String(port), bytes, '--timeout', '6000'], { timeoutMs: 90_000 }).catch(stdoutOf);
      const r = lastJson<Bulk>(out);
      if (!r.ok) ctx.note(`${mode}: ${r.error ?? 'no result'}`);
      return r.ok ? r.gbps : null;
    };
    return { uploadGbps: await go('upload', 9001), downloadGbps: await go('download', 80) };
  },
};

const LEVELS = [50, 90] as const;

export const latency: Scenario = {
  name: 'latency',
  description: 'a 100/s probe\'s connect and first-byte time (µs) under paced load at 50% and 90% of the conns rate',
  metrics: LEVELS.flatMap((l): Metric[] => [
    { key: `load${l}`, label: `${l}%: load reached`, unit: 'conn/s', higherIsBetter: true },
    { key: `connectP50at${l}`, label: `${l}%: connect p50`, unit: 'µs', higherIsBetter: false },
    { key: `connectP99at${l}`, label: `${l}%: connect p99`, unit: 'µs', higherIsBetter: false, ratio: true },
    { key: `connectP999at${l}`, label: `${l}%: connect p99.9`, unit: 'µs', higherIsBetter: false },
    { key: `firstByteP99at${l}`, label: `${l}%: first byte p99`, unit: 'µs', higherIsBetter: false, chart: true },
  ]),
  skip: () => null,
  async run(ctx) {
    const max = ctx.previous.conns?.connsPerSec;
    if (typeof max !== 'number' || !(max > 0)) {
      ctx.note('no conns rate measured before it in this round: skipped');
      return {};
    }
    const secs = Math.max(1.5, ctx.seconds);
    const out: Metrics = {};
    for (const l of LEVELS) {
      const rate = Math.max(1, Math.round((max * l) / 100));
      const load = connLoad(ctx, secs, { rate });
      await new Promise((r) => setTimeout(r, 250));
      const pr = await connLoad(ctx, secs - 0.5, { rate: 100, concurrency: 16, latency: true });
      const lr = await load;
      if (pr.failed > 0 || lr.failed > 0) ctx.note(`${l}%: probe ${pr.ok} ok ${pr.failed} failed, load ${lr.ok} ok ${lr.failed} failed ${JSON.stringify(lr.errors)}`);
      const us = (v: number | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v * 1000 : null);
      out[`load${l}`] = lr.ms > 0 ? lr.ok / (lr.ms / 1000) : null;
      out[`connectP50at${l}`] = us(pr.latency?.connect.p50);
      out[`connectP99at${l}`] = us(pr.latency?.connect.p99);
      out[`connectP999at${l}`] = us(pr.latency?.connect.p999);
      out[`firstByteP99at${l}`] = us(pr.latency?.firstByte.p99);
    }
    return out;
  },
};

export const ALL_SCENARIOS: readonly Scenario[] = [conns, keepalive, pps, bulk, latency];
