// Scheduling scenarios, one per IPVS scheduler: the same scripted life of a service —
// servers added in a given order with weights 1, 2, 3, established connections from
// distinct clients, a server quiesced (weight 0), some connections reset (inactive),
// thresholds (-x/-y), a deletion and a late addition, then the first clients again — with
// the real server each new connection went to compared step by step (the forwarded SYN's
// destination), and the counts after each phase. dh, lblc and lblcr key on the destination
// address, so theirs is a firewall-mark service over eight VIPs. twos draws random numbers
// in the kernel: only its property is compared (see twosProperty).

import type { Observation, PacketScenario, Step } from './script.js';
import { connect, ipvsadm, observe, reset, rs, type Conn } from './steps.js';
import { client, NET } from './topology.js';

export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'fo', 'ovf', 'lblc', 'lblcr', 'dh', 'sh', 'mh', 'twos'] as const;
const BY_DESTINATION = new Set(['lblc', 'lblcr', 'dh']);

/** A MARK rule for `port` on every VIP, in both dialects. */
export function markStep(port: number, mark: number): Step {
  return {
    op: 'mark',
    nft: `add rule ip uvs pre ip daddr { ${NET.vips.join(', ')} } tcp dport ${port} meta mark set ${mark}`,
    iptables: NET.vips.map((v) => `-t mangle -A PREROUTING -p tcp -d ${v}/32 --dport ${port} -j MARK --set-mark ${mark}`).join('\n'),
  };
}

/**
 * twos picks with random numbers, so which server a connection gets (and hence which server
 * hits its threshold, and when none is left) differs run to run: compared are the steps'
 * shape — every segment gets one outcome, forwarded to some server or refused — and the
 * listings with server choices and counters masked; twosNeverQuiesced checks the property.
 */
function twosMasked(obs: Observation[]): Observation[] {
  return obs.map((o) => ({
    ...o,
    lines: o.lines.filter((l) => !l.startsWith('conn ')).map((l) => {
      if (l.startsWith('  s ') || / ICMP .* type=3 code=3 /.test(l)) return '  <forwarded to a server, or refused>';
      if (/^ {2}-> 198\.19\.0\./.test(l)) return l.replace(/( +\d+)+ *$/, ' <counts>');
      if (/^(TCP|UDP|FWM) .*( +\d+){5}$/.test(l)) return l.replace(/( +\d+){5}$/, ' <counters>');
      return l;
    }),
  }));
}

/** On either side, no connection may go to the quiesced server while its weight is 0 (steps `during`). */
function twosNeverQuiesced(quiesced: string, during: number[]): (o: Observation[]) => string[] {
  return (obs) => obs.filter((o) => during.includes(o.step)).flatMap((o) => o.lines.filter((l) => l.startsWith('  s ') && l.includes(` > ${quiesced}:`)).map((l) => `step ${o.step}: a connection went to the quiesced ${quiesced}: ${l.trim()}`));
}

interface Variant {
  name: string;
  scheduler: string;
  /** Extra -A options (scheduler flags). */
  flags?: string[];
}

const VARIANTS: Variant[] = [
  ...SCHEDULERS.map((s) => ({ name: s, scheduler: s })),
  { name: 'sh-port-fallback', scheduler: 'sh', flags: ['-b', 'sh-port,sh-fallback'] },
  { name: 'mh-port-fallback', scheduler: 'mh', flags: ['-b', 'mh-port,mh-fallback'] },
];

export function schedulingScenarios(): PacketScenario[] {
  return [...VARIANTS.map(lifeOfAService), wrrIncremental()];
}

/** wrr's start phase when servers arrive one by one between connections (schedulers.md 2). */
function wrrIncremental(): PacketScenario {
  const port = 2100;
  const svc = ['-t', `${NET.vip}:${port}`];
  let k = 0;
  const conns = (n: number): Conn[] => Array.from({ length: n }, () => ({ client: client(k), sport: 11000 + k++, port }));
  const steps: Step[] = [
    ipvsadm('-C'), ipvsadm('-A', ...svc, '-s', 'wrr'),
    ipvsadm('-a', ...svc, '-r', rs(0, port), '-m', '-w', 3), connect(conns(2)),
    ipvsadm('-a', ...svc, '-r', rs(1, port), '-m', '-w', 2), connect(conns(3)),
    ipvsadm('-a', ...svc, '-r', rs(2, port), '-m', '-w', 1), connect(conns(7)),
    ipvsadm('-e', ...svc, '-r', rs(0, port), '-m', '-w', 1), connect(conns(5)),
    ipvsadm('-a', ...svc, '-r', rs(3, port), '-m', '-w', 4), connect(conns(9)),
    observe(),
  ];
  return { name: 'sched-wrr-incremental', group: 'scheduling', title: 'wrr: servers added one by one between connections, a weight lowered, a heavier server added', steps, ports: [port], clients: Array.from({ length: k }, (_, i) => client(i)) };
}

/** One life of a service (see the file's opening comment) for a scheduler variant, on VIP port 2000 + i. */
function lifeOfAService(v: Variant, i: number): PacketScenario {
  const port = 2000 + i;
  const mark = 20 + i;
  const byDest = BY_DESTINATION.has(v.scheduler);
  let k = 0;
  const clients: string[] = [];
  const conns = (n: number, reuse?: number): Conn[] =>
    Array.from({ length: n }, (_, j) => {
      const index = reuse !== undefined ? reuse + j : k++;
      const c = client(index);
      if (!clients.includes(c)) clients.push(c);
      return { client: c, sport: 10000 + (reuse !== undefined ? 500 + index : index), port, vip: byDest ? NET.vips[index % NET.vips.length]! : NET.vip };
    });
  const svc = byDest ? ['-f', String(mark)] : ['-t', `${NET.vip}:${port}`];
  const server = (r: number, ...opts: (string | number)[]): Step => ipvsadm('-a', ...svc, '-r', rs(r, port), '-m', ...opts);
  const edit = (r: number, ...opts: (string | number)[]): Step => ipvsadm('-e', ...svc, '-r', rs(r, port), '-m', ...opts);
  const first = conns(12);
  const whileQuiesced = [connect(conns(6)), connect(conns(6))];
  const steps: Step[] = [
    ipvsadm('-C'),
    ...(byDest ? [markStep(port, mark)] : []),
    ipvsadm('-A', ...svc, '-s', v.scheduler, ...(v.flags ?? [])),
    server(0, '-w', 1),
    server(1, '-w', 2),
    server(2, '-w', 3),
    connect(first),
    observe(),
    edit(1, '-w', 0),
    whileQuiesced[0]!,
    reset(first.slice(0, 4)),
    whileQuiesced[1]!,
    observe(),
    edit(1, '-w', 2, '-x', 4),
    edit(2, '-w', 3, '-x', 3, '-y', 1),
    connect(conns(8)),
    ipvsadm('-d', ...svc, '-r', rs(0, port)),
    connect(conns(6)),
    server(3, '-w', 1),
    connect(conns(6)),
    // The first clients again, from new ports (sh, mh, lblc keep them where they were).
    connect(conns(6, 0)),
    observe(),
  ];
  const sc: PacketScenario = {
    name: `sched-${v.name}`,
    group: 'scheduling',
    title: `${v.scheduler}${v.flags ? ` ${v.flags.join(' ')}` : ''}: ${byDest ? 'fwmark service over 8 VIPs' : 'TCP service'}; adds, weights, weight 0, resets, thresholds, delete, add, returning clients`,
    steps,
    ports: [port],
    ...(byDest ? { marks: [mark] } : {}),
    clients,
  };
  if (v.name === 'twos') {
    sc.normalize = twosMasked;
    sc.property = twosNeverQuiesced(NET.servers[1]!, whileQuiesced.map((w) => steps.indexOf(w)));
    sc.note = 'kernel twos draws get_random_u32: compared is the shape (one outcome per segment, listings with choices and counts masked) and, on each side, the property that no connection goes to the quiesced server while its weight is 0';
  }
  return sc;
}
