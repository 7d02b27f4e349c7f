// Packet-driven differential scenarios: a list of steps (ipvsadm command lines, segments a
// client or real server sends, listings, sleeps, firewall-mark rules) that the guest runs
// against kernel IPVS (as a shell script driving ipvsadm and the injector) and the uvs
// engine director runs in memory; both give the same kind of observations, step by step,
// normalised only where time leaks in (the expire column), so they compare as text.

import { EngineDirector } from '../uvs/engine-director.js';
import { describeFrame, parseInjectOutput } from './frames.js';
import { frameOf, type Segment } from './topology.js';

export type Step =
  | { op: 'ipvsadm'; args: string[] }
  | { op: 'send'; segments: Segment[] }
  /** Listings; with `stats`, also the traffic counters, read after 3 s (the kernel's estimator folds its per-CPU counters into what -L --stats shows every 2 s). */
  | { op: 'observe'; stats?: boolean }
  | { op: 'sleep'; seconds: number }
  /** An IPVS sysctl (net.ipv4.vs.<name>): the guest writes it, uvs gets it in its datapath settings. */
  | { op: 'sysctl'; name: 'expire_nodest_conn' | 'expire_quiescent_template' | 'sloppy_tcp' | 'conn_reuse_mode'; value: number }
  /** A MARK rule: `nft` for the guest (after `nft add table ip mangle` etc.), `iptables` for uvs's classifier. */
  | { op: 'mark'; nft: string; iptables: string };

export interface PacketScenario {
  name: string;
  group: 'scheduling' | 'states' | 'persistence';
  title: string;
  steps: Step[];
  /** Virtual ports and marks this scenario uses: its rows in the guest's shared -L -c listing. */
  ports: number[];
  marks?: number[];
  /** Client addresses it sends from (the guest needs a neighbour entry for each). */
  clients: string[];
  /** Applied to both sides' observations before comparing (a property instead of the exact choice). */
  normalize?: (o: Observation[]) => Observation[];
  /** A property each side's raw observations must have (violations, empty when it holds). */
  property?: (o: Observation[]) => string[];
  /** What is compared when not everything is (shown in docs/conformance.md). */
  note?: string;
}

export interface Observation {
  step: number;
  label: string;
  lines: string[];
}

function label(s: Step): string {
  switch (s.op) {
    case 'ipvsadm':
      return `ipvsadm ${s.args.join(' ')}`;
    case 'send':
      return `send ${s.segments.map((g) => `${g.side}:${g.flags || (g.udp ? 'udp' : '')}`).join(' ')}`;
    case 'observe':
      return `ipvsadm -L -n --persistent-conn; ipvsadm -L -n -c${s.stats ? '; sleep 3; ipvsadm -L -n --stats --exact' : ''}`;
    case 'sleep':
      return `sleep ${s.seconds}`;
    case 'mark':
      return `mark: ${s.iptables}`;
    case 'sysctl':
      return `sysctl net.ipv4.vs.${s.name}=${s.value}`;
  }
}

function segmentLine(g: Segment): string {
  return `${g.side} sends ${g.src}:${g.sport} > ${g.dst}:${g.dport} ${g.udp ? 'UDP' : `[${g.flags}]`}`;
}

/**
 * The rows of `ipvsadm -L -n -c` that belong to the scenario (the guest's table holds every
 * earlier scenario's too): fwmark templates by mark (listed as 0.0.0.<mark>:0), the rest by
 * VIP port. Without the expire column (time), sorted.
 */
function connectionRows(text: string, sc: PacketScenario): string[] {
  const virtuals = new Set([...(sc.marks ?? []).map((m) => `0.0.0.${m}:0`)]);
  const rows: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !/^\d\d:\d\d$/.test(f[1]!)) continue;
    const [proto, , state, source, virtual, dest] = f as [string, string, string, string, string, string];
    const vport = Number(virtual.slice(virtual.lastIndexOf(':') + 1));
    if (!virtuals.has(virtual) && !(virtual.startsWith('198.18.0.') && sc.ports.includes(vport))) continue;
    rows.push(`conn ${proto} ${state} ${source} ${virtual} ${dest}`);
  }
  return rows.sort();
}

function commandLines(rc: number, out: string, err: string): string[] {
  const lines = [`exit ${rc}`];
  for (const l of out.split('\n').filter((x) => x !== '')) lines.push(`out: ${l}`);
  for (const l of err.split('\n').filter((x) => x !== '')) lines.push(`err: ${l}`);
  return lines;
}

function packetsFile(seg: Segment[]): string {
  return seg.map((g) => `${g.side} ${Buffer.from(frameOf(g)).toString('hex')}`).join('\n') + '\n';
}

/** The guest's part: files to put in /in and the shell lines that run the scenario. */
/** The scenario with its last listing also showing the traffic counters. */
function withFinalStats(sc: PacketScenario): PacketScenario {
  const last = sc.steps.map((s) => s.op).lastIndexOf('observe');
  return last < 0 ? sc : { ...sc, steps: sc.steps.map((s, i) => (i === last ? { op: 'observe', stats: true } : s)) };
}

export function guestScript(scenario: PacketScenario): { files: Record<string, string>; script: string } {
  const sc = withFinalStats(scenario);
  const files: Record<string, string> = {};
  const lines = [`# ${sc.name}: ${sc.title}`, `mkdir -p /out/${sc.name}`];
  sc.steps.forEach((s, i) => {
    const o = `/out/${sc.name}/${i}`;
    switch (s.op) {
      case 'ipvsadm':
        lines.push(`ipvsadm ${s.args.join(' ')} >${o}.out 2>${o}.err; echo $? >${o}.rc`);
        break;
      case 'send':
        files[`${sc.name}/${i}.pkts`] = packetsFile(s.segments);
        lines.push(`/usr/sbin/inject /in/${sc.name}/${i}.pkts >${o}.out 2>&1`);
        break;
      case 'observe':
        lines.push(`ipvsadm -L -n --persistent-conn >${o}.list 2>&1; ipvsadm -L -n -c >${o}.conns 2>&1`);
        if (s.stats) lines.push(`sleep 3; ipvsadm -L -n --stats --exact >${o}.stats 2>&1`);
        break;
      case 'sleep':
        lines.push(`sleep ${s.seconds}`);
        break;
      case 'mark':
        lines.push(`/usr/sbin/nft ${s.nft} >${o}.out 2>&1`);
        break;
      case 'sysctl':
        lines.push(`sysctl -qw net.ipv4.vs.${s.name}=${s.value} >${o}.out 2>&1`);
        break;
    }
  });
  return { files, script: lines.join('\n') + '\n' };
}

/** Observations from the files the guest wrote for this scenario. */
export function kernelObservations(scenario: PacketScenario, files: Map<string, string>): Observation[] {
  const sc = withFinalStats(scenario);
  const get = (i: number, ext: string): string => files.get(`${sc.name}/${i}.${ext}`) ?? '';
  return sc.steps.map((s, i) => {
    const base = { step: i, label: label(s) };
    switch (s.op) {
      case 'ipvsadm':
        return { ...base, lines: commandLines(Number(get(i, 'rc').trim() || -1), get(i, 'out'), get(i, 'err')) };
      case 'send': {
        const sent = parseInjectOutput(get(i, 'out'));
        const lines: string[] = [];
        s.segments.forEach((g, k) => {
          lines.push(segmentLine(g));
          for (const f of sent[k] ?? []) lines.push(`  ${describeFrame(f.side, f.frame)}`);
        });
        if (sent.length !== s.segments.length) lines.push(`injector: ${get(i, 'out').trim().split('\n').slice(-2).join(' | ')}`);
        return { ...base, lines };
      }
      case 'observe':
        return { ...base, lines: [...get(i, 'list').trimEnd().split('\n'), ...(s.stats ? get(i, 'stats').trimEnd().split('\n') : []), ...connectionRows(get(i, 'conns'), sc)] };
      case 'sleep':
        return { ...base, lines: [] };
      case 'mark':
      case 'sysctl':
        return { ...base, lines: get(i, 'out').trim() ? [`${s.op}: ${get(i, 'out').trim()}`] : [] };
    }
  });
}

/** The same scenario run by the in-memory uvs director. */
export function uvsObservations(scenario: PacketScenario): Observation[] {
  const sc = withFinalStats(scenario);
  const d = new EngineDirector();
  d.learn(sc.clients);
  return sc.steps.map((s, i) => {
    const base = { step: i, label: label(s) };
    switch (s.op) {
      case 'ipvsadm': {
        const r = d.ipvsadm(s.args);
        d.advance(5);
        return { ...base, lines: commandLines(r.rc, r.out, r.err) };
      }
      case 'send': {
        const lines: string[] = [];
        for (const g of s.segments) {
          lines.push(segmentLine(g));
          for (const f of d.send(frameOf(g), g.side)) if (f.frame[12] === 0x08 && f.frame[13] === 0x00) lines.push(`  ${describeFrame(f.side, f.frame)}`);
          d.advance(20);
        }
        return { ...base, lines };
      }
      case 'observe': {
        const list = d.ipvsadm(['-L', '-n', '--persistent-conn']);
        const stats = s.stats ? d.ipvsadm(['-L', '-n', '--stats', '--exact']) : { out: '', err: '' };
        const conns = d.ipvsadm(['-L', '-n', '-c']);
        return { ...base, lines: [...(list.out + list.err).trimEnd().split('\n'), ...(s.stats ? (stats.out + stats.err).trimEnd().split('\n') : []), ...connectionRows(conns.out, sc)] };
      }
      case 'sleep':
        d.advance(s.seconds * 1000);
        return { ...base, lines: [] };
      case 'mark':
        d.addMarkRules(s.iptables);
        return { ...base, lines: [] };
      case 'sysctl':
        d.setSysctl(s.name, s.value);
        return { ...base, lines: [] };
    }
  });
}
