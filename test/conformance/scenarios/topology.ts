// The network both sides of a differential scenario share: the director (guest root
// namespace, or the in-memory uvs engine) with pub (clients, 198.18.0.0/24) and priv (real
// servers, 198.19.0.0/24), the same MAC addresses on both sides so the same frames can be
// fed to each, and the guest's shell prelude that builds it (veth ends in namespaces c and
// s, where the injector sends and listens; static neighbours so no ARP is ever needed).

import { buildFrame } from '../../../src/packet/builder.js';

export const NET = {
  vip: '198.18.0.100',
  /** Extra VIPs for firewall-mark services (destination-keyed schedulers need several). */
  vips: ['198.18.0.100', '198.18.0.101', '198.18.0.102', '198.18.0.103', '198.18.0.104', '198.18.0.105', '198.18.0.106', '198.18.0.107'],
  dirPub: '198.18.0.2',
  dirPubMac: '02:75:76:18:00:02',
  clientMac: '02:75:76:18:00:0a',
  dirPriv: '198.19.0.2',
  dirPrivMac: '02:75:76:19:00:02',
  servers: ['198.19.0.11', '198.19.0.12', '198.19.0.13', '198.19.0.14', '198.19.0.15'],
  serverMacs: ['02:75:76:19:00:0b', '02:75:76:19:00:0c', '02:75:76:19:00:0d', '02:75:76:19:00:0e', '02:75:76:19:00:0f'],
} as const;

/** Client address n (198.18.0.10 + n, or another /24 for n ≥ 200 to exercise -M). */
export function client(n: number): string {
  return n < 200 ? `198.18.0.${10 + n}` : `198.18.${1 + Math.floor((n - 200) / 200)}.${10 + ((n - 200) % 200)}`;
}

export const TCP_FLAGS = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10 } as const;
export type FlagString = string; // e.g. 'S', 'SA', 'A', 'FA', 'R', 'PA'

function flagBits(f: FlagString): number {
  let bits = 0;
  for (const c of f) bits |= TCP_FLAGS[c as keyof typeof TCP_FLAGS];
  return bits;
}

export interface Segment {
  /** 'c': a client sends to the VIP (arrives on pub); 's': a real server answers (arrives on priv). */
  side: 'c' | 's';
  src: string;
  sport: number;
  dst: string;
  dport: number;
  flags: FlagString;
  seq?: number;
  ack?: number;
  udp?: boolean;
}

/** The Ethernet frame of a segment as it arrives at the director. */
export function frameOf(s: Segment): Uint8Array {
  const serverIndex = NET.servers.indexOf(s.src as (typeof NET.servers)[number]);
  const eth = s.side === 'c' ? { src: NET.clientMac, dst: NET.dirPubMac } : { src: NET.serverMacs[serverIndex] ?? NET.serverMacs[0], dst: NET.dirPrivMac };
  const ipv4 = { src: s.src, dst: s.dst, ttl: 64, id: 0x1234, df: true };
  if (s.udp) return buildFrame({ eth, ipv4, udp: { sport: s.sport, dport: s.dport }, payload: '7576730a' });
  const flags = flagBits(s.flags);
  return buildFrame({ eth, ipv4, tcp: { sport: s.sport, dport: s.dport, seq: s.seq ?? 1000, ack: flags & TCP_FLAGS.A ? (s.ack ?? 5000) : 0, flags, window: 64240 } });
}

/** Client addresses a scenario uses (the guest gets a static neighbour for each). */
export function guestPrelude(clients: readonly string[]): string {
  const ip = '/usr/sbin/ip';
  const lines = [
    'set -u',
    `IP=${ip}`,
    'sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1',
    '$IP link set lo up',
    '$IP netns add c',
    '$IP netns add s',
    `$IP link add pub address ${NET.dirPubMac} type veth peer name cli address ${NET.clientMac}`,
    `$IP link add priv address ${NET.dirPrivMac} type veth peer name srv address 02:75:76:19:00:ff`,
    '$IP link set cli netns c',
    '$IP link set srv netns s',
    '$IP -n c link set cli up',
    '$IP -n s link set srv up',
    '$IP link set pub up',
    '$IP link set priv up',
    `$IP addr add ${NET.dirPub}/24 dev pub`,
    `$IP addr add ${NET.dirPriv}/24 dev priv`,
    ...NET.vips.map((v) => `$IP addr add ${v}/32 dev pub`),
    'sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.pub.rp_filter=0 net.ipv4.conf.priv.rp_filter=0',
    ...NET.servers.map((a, i) => `$IP neigh replace ${a} lladdr ${NET.serverMacs[i]} dev priv nud permanent`),
    ...clients.map((a) => `$IP neigh replace ${a} lladdr ${NET.clientMac} dev pub nud permanent`),
    // Clients outside 198.18.0.0/24 (for -M tests) are routed back out pub.
    `$IP route add 198.18.0.0/16 dev pub`,
  ];
  return lines.join('\n') + '\n';
}
