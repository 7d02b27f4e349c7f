// bench/harness/scenarios: what the harness measures through each balancer (issue 7).
// Each scenario runs from the lab's client namespace against the balancer's target and
// returns named metrics (null where a metric does not apply, e.g. CPU of a kernel path).
//
//   conns  new TCP connections/s: one 16-byte request per connection, echoed, closed, 64 at
//          a time for a fixed time (bench/harness/conn-load.ts); only verified ones count;
//          balancer CPU µs per connection (user + system of the balancer's process).
//   pps    UDP 60-byte frames flooded by the C generator (bench/c/afp-blast.c via
//          bench/tools/measure.ts); delivered = the servers' eth0 rx counters (they drop
//          the flood in prerouting); balancer CPU µs per delivered packet.
//   Both also report the whole machine's busy CPU per connection / packet (hostBusy):
//   the only CPU figure the kernel's own paths (softirq) have.
//   bulk   one upload to the digest service (SHA-256 checked) and one HTTP download
//          (length and content checked), Gbit/s each (src/lab/load.ts upload/download).
//
//   latency  connect and first-byte times (µs) of a separate probe process (100 new
//          connections/s) while a paced load (open loop) runs at 50% and then 90% of the
//          conns median this balancer just reached in the same round.
//
// Not yet (issue 7): keep-alive requests/s (autocannon), the ramped zero-error/zero-loss
// rates.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../../src/lab/index.js';
import { cpuSeconds, flood, rxPackets } from '../tools/measure.js';
import type { Balancer, RunningBalancer } from './balancers.js';
import type { ConnLoadResult, Percentiles } from './conn-load.js';

const LOAD = fileURLToPath(new URL('../../src/lab/load.js', import.meta.url));
const CONN_LOAD = fileURLToPath(new URL('./conn-load.js', import.meta.url));

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

const lastJson = <T>(out: string): T => JSON.parse(out.trim().split('\n').pop() || '{}') as T;
const stdoutOf = (e: unknown): string => (e as { stdout?: string }).stdout ?? '{}';

async function connLoad(ctx: ScenarioContext, seconds: number): Promise<ConnLoadResult> {
  const { host, port } = ctx.running.target;
  const argv = [process.execPath, CONN_LOAD, host, String(port), '--seconds', String(seconds), '--concurrency', '64', '--size', '16', '--timeout', '5000', ...(ctx.balancer.proxy ? ['--proxy'] : [])];
  const out = await ctx.lab.exec('client', argv, { timeoutMs: (seconds + 30) * 1000 }).catch(stdoutOf);
  return lastJson<ConnLoadResult>(out);
}

export const conns: Scenario = {
  name: 'conns',
  description: 'new TCP connections/s (16-byte request, echoed, closed; 64 concurrent; verified only)',
  metrics: [
    { ratio: true, key: 'connsPerSec', label: 'new connections', unit: 'conn/s', higherIsBetter: true },
    { chart: true, key: 'cpuUsPerConn', label: 'balancer CPU per connection', unit: 'µs', higherIsBetter: false },
    { chart: true, key: 'hostCpuUsPerConn', label: 'whole-machine CPU per connection', unit: 'µs', higherIsBetter: false },
    { key: 'failed', label: 'failed connections', unit: '', higherIsBetter: false },
  ],
  skip: () => null,
  async run(ctx) {
    await connLoad(ctx, 0.3); // warm-up: neighbours, the balancer's first connections
    const h0 = hostBusy();
    const c0 = cpu(ctx.running.pid);
    const r = await connLoad(ctx, ctx.seconds);
    const c1 = cpu(ctx.running.pid);
    const h1 = hostBusy();
    if (r.failed > 0 || r.ok === 0) ctx.note(`${r.ok} ok, ${r.failed} failed: ${JSON.stringify(r.errors)}`);
    return {
      connsPerSec: r.ms > 0 ? r.ok / (r.ms / 1000) : 0,
      cpuUsPerConn: ctx.running.pid === undefined ? null : ((c1 - c0) * 1e6) / Math.max(1, r.ok),
      hostCpuUsPerConn: ((h1 - h0) * 1e6) / Math.max(1, r.ok),
      failed: r.failed ?? 0,
    };
  },
};

export const pps: Scenario = {
  name: 'pps',
  description: 'UDP 60-byte frames flooded by the C generator; delivered to the servers',
  metrics: [
    { ratio: true, key: 'deliveredPps', label: 'delivered', unit: 'pps', higherIsBetter: true },
    { key: 'offeredPps', label: 'offered', unit: 'pps', higherIsBetter: true },
    { chart: true, key: 'cpuUsPerPacket', label: 'balancer CPU per delivered packet', unit: 'µs', higherIsBetter: false },
    { chart: true, key: 'hostCpuUsPerPacket', label: 'whole-machine CPU per delivered packet', unit: 'µs', higherIsBetter: false },
  ],
  skip: (b) => (b.udp ? null : 'does not balance UDP'),
  async run(ctx) {
    const host = ctx.running.target.host;
    await flood(ctx.lab, host, 0.3);
    const rx0 = await rxPackets(ctx.lab);
    const h0 = hostBusy();
    const c0 = cpu(ctx.running.pid);
    const b = await flood(ctx.lab, host, ctx.seconds);
    const c1 = cpu(ctx.running.pid);
    const h1 = hostBusy();
    await new Promise((r) => setTimeout(r, 200));
    const delivered = (await rxPackets(ctx.lab)) - rx0;
    return {
      deliveredPps: delivered / b.seconds,
      offeredPps: b.sent / b.seconds,
      cpuUsPerPacket: ctx.running.pid === undefined ? null : ((c1 - c0) * 1e6) / Math.max(1, delivered),
      hostCpuUsPerPacket: ((h1 - h0) * 1e6) / Math.max(1, delivered),
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

interface LatencyOut extends ConnLoadResult {
  latency?: { connect: Percentiles; firstByte: Percentiles };
}

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
    const { host, port } = ctx.running.target;
    const secs = Math.max(1.5, ctx.seconds);
    const proxy = ctx.balancer.proxy ? ['--proxy'] : [];
    const out: Metrics = {};
    for (const l of LEVELS) {
      const rate = Math.max(1, Math.round((max * l) / 100));
      const load = ctx.lab
        .exec('client', [process.execPath, CONN_LOAD, host, String(port), '--seconds', String(secs), '--rate', String(rate), '--concurrency', '64', '--size', '16', '--timeout', '5000', ...proxy], { timeoutMs: (secs + 30) * 1000 })
        .catch(stdoutOf);
      await new Promise((r) => setTimeout(r, 250));
      const probe = await ctx.lab
        .exec('client', [process.execPath, CONN_LOAD, host, String(port), '--seconds', String(secs - 0.5), '--rate', '100', '--concurrency', '16', '--size', '16', '--timeout', '5000', '--latency', ...proxy], { timeoutMs: (secs + 30) * 1000 })
        .catch(stdoutOf);
      const lr = lastJson<ConnLoadResult>(await load);
      const pr = lastJson<LatencyOut>(probe);
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

export const ALL_SCENARIOS: readonly Scenario[] = [conns, pps, bulk, latency];
