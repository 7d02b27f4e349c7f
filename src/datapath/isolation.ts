// Kernel isolation: keep the director's own kernel out of the traffic uvs balances.
// See docs/isolation.md.
//
// AF_PACKET taps a frame before tc and netfilter, and the kernel still handles the frame
// afterwards. Without isolation, a SYN to a VIP that is a local address is answered by the
// kernel (RST, or a local listener), replies of NAT'ed real servers are forwarded
// un-rewritten when ip_forward=1, and packets for a VIP that is not local are forwarded
// (with ICMP redirects) when forwarding is on. uvs owns one nftables table per director
// (`table inet uvs` by default) with a base chain on the prerouting hook at priority -310:
// after the IPv4/IPv6 defragmenters (-400), before raw (-300), conntrack (-200), every NAT
// and filter chain and the routing decision. A frame dropped there has already been seen
// by every packet socket (uvs's RX rings, captures), and the kernel neither answers it,
// forwards it, tracks it (no conntrack entry) nor sends ICMP about it.
//
// What is dropped is described by nft sets (one lookup per packet whatever the number of
// services), and every apply() replaces the whole content in ONE `nft -f -` transaction:
// the kernel commits it atomically (packets see the old rules or the new ones), and a
// transaction nft rejects changes nothing.
//
//   const iso = await KernelIsolation.open({ table: 'uvs', netns: 'P-dir1' });
//   await iso.apply({ services: [{ protocol: 'tcp', vip: '198.18.0.100', port: 80 }],
//                     realServers: [{ protocol: 'tcp', address: '198.19.0.11', port: 80 }],
//                     natRouterAddresses: ['198.19.0.254'] });
//   await iso.close();   // deletes the table

import { execFile } from 'node:child_process';
import ipaddr from 'ipaddr.js';
import { UvsError } from '../errors.js';

export type IsolationProtocol = 'tcp' | 'udp' | 'sctp';
export const ISOLATION_PROTOCOLS: readonly IsolationProtocol[] = ['tcp', 'udp', 'sctp'];
const PROTO_NUM: Record<IsolationProtocol, number> = { tcp: 6, udp: 17, sctp: 132 };

/** A balanced service: the kernel gets nothing for protocol/vip/port. port 0 = every port (fwmark-like). */
export interface IsolatedService {
  protocol: IsolationProtocol;
  vip: string;
  port: number;
}

/** A NAT real server: its replies (from address:port) are not the kernel's to forward. port 0 = every port. */
export interface IsolatedRealServer {
  protocol: IsolationProtocol;
  address: string;
  port: number;
}

export interface IsolationRules {
  services?: IsolatedService[];
  /** NAT real servers (DR/TUN replies never pass the director: leave them out). */
  realServers?: IsolatedRealServer[];
  /** Floating gateway addresses of the real servers (NAT), owned by uvs. */
  natRouterAddresses?: string[];
  /**
   * Let the kernel answer ICMP/ICMPv6 echo requests to a VIP or NAT router address that
   * is assigned locally, as IPVS does (default true). false: they are dropped too.
   */
  kernelPing?: boolean;
  /** Isolate only frames arriving on these interfaces (default: every interface but lo). */
  interfaces?: string[];
}

/** What apply() installed (addresses in canonical form, duplicates removed). */
export interface NormalizedRules {
  services: IsolatedService[];
  realServers: IsolatedRealServer[];
  natRouterAddresses: string[];
  kernelPing: boolean;
  interfaces: string[] | null;
}

export interface NftResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The nft program (or `ip`, with a namespace) could not be started. */
  notFound?: 'nft' | 'ip';
}

/** Runs nft with `args` (and `input` on stdin). Never rejects: failures are in the result. */
export type NftExec = (args: string[], input?: string) => Promise<NftResult>;

export interface NftExecOptions {
  /** The nft binary (default 'nft', from PATH). */
  nft?: string;
  /** Run in this network namespace (`ip netns exec NS nft ...`). */
  netns?: string;
  /** Default 60 s. */
  timeoutMs?: number;
}

export interface IsolationOptions extends NftExecOptions {
  /** nftables table name (family inet). Default 'uvs'; one per director (per namespace). */
  table?: string;
  /** Hook priority of the prerouting chain; must be before conntrack (< -200). Default -310. */
  priority?: number;
  /** How nft is run (default: nftExec(options)). Tests inject failures through it. */
  exec?: NftExec;
}

export interface IsolationCounter {
  packets: number;
  bytes: number;
}

/** Named counters of the table (what the kernel was kept out of). */
export interface IsolationCounters {
  /** To a VIP: balanced protocol/port (incl. non-first fragments). */
  vip: IsolationCounter;
  /** To a VIP: ICMP errors about balanced traffic. */
  vipIcmp: IsolationCounter;
  /** To a VIP that is not a local address: everything (else the kernel would forward it). */
  vipNonLocal: IsolationCounter;
  /** To a VIP or NAT router address: echo requests, when kernelPing is false. */
  ping: IsolationCounter;
  /** From a real server (not to a local address): replies of balanced services. */
  realServer: IsolationCounter;
  /** From a real server: ICMP errors about balanced traffic. */
  realServerIcmp: IsolationCounter;
  /** To a NAT router address. */
  natRouter: IsolationCounter;
}

const COUNTERS: Record<keyof IsolationCounters, string> = {
  vip: 'vip',
  vipIcmp: 'vip_icmp',
  vipNonLocal: 'vip_nonlocal',
  ping: 'ping',
  realServer: 'rs',
  realServerIcmp: 'rs_icmp',
  natRouter: 'router',
};

export const DEFAULT_TABLE = 'uvs';
export const DEFAULT_PRIORITY = -310;
/** nf_conntrack's prerouting priority: isolation must come first. */
const CONNTRACK_PRIORITY = -200;

/** nft rejected a transaction (nothing of it was applied). */
export class NftError extends UvsError {
  /** Line of the script nft complained about (1-based), if it said. */
  readonly line: number | null;
  /** What that line was for (e.g. "services[3]: tcp 198.18.0.100:80"). */
  readonly origin: string | null;
  /** nft's own message (first error). */
  readonly nftMessage: string;
  readonly stderr: string;
  readonly exitCode: number | null;
  constructor(code: string, message: string, f: { line: number | null; origin: string | null; nftMessage: string; stderr: string; exitCode: number | null }) {
    super(code, message);
    this.name = 'NftError';
    this.line = f.line;
    this.origin = f.origin;
    this.nftMessage = f.nftMessage;
    this.stderr = f.stderr;
    this.exitCode = f.exitCode;
  }
}

// --- running nft ----------------------------------------------------------------------------

/** The default NftExec: `nft ARGS` or `ip netns exec NS nft ARGS`. */
export function nftExec(opts: NftExecOptions = {}): NftExec {
  const nft = opts.nft ?? 'nft';
  const argv0 = opts.netns === undefined ? [nft] : ['ip', 'netns', 'exec', opts.netns, nft];
  const timeout = opts.timeoutMs ?? 60_000;
  return (args, input) =>
    new Promise((resolve) => {
      const all = [...argv0, ...args];
      const child = execFile(all[0]!, all.slice(1), { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
        if (!err) return resolve({ code: 0, stdout, stderr });
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
        if (e.code === 'ENOENT') return resolve({ code: null, stdout: '', stderr: `${all[0]}: not found`, notFound: opts.netns === undefined ? 'nft' : 'ip' });
        // `ip netns exec` reports a missing program itself (exit 255).
        if (opts.netns !== undefined && /exec of "[^"]*" failed: No such file or directory/.test(String(stderr))) {
          return resolve({ code: typeof e.code === 'number' ? e.code : null, stdout: String(stdout), stderr: String(stderr), notFound: 'nft' });
        }
        const tail = e.killed ? `\n(killed after ${timeout} ms)` : '';
        resolve({ code: typeof e.code === 'number' ? e.code : null, stdout: String(stdout ?? ''), stderr: String(stderr ?? '') + tail });
      });
      child.stdin?.on('error', () => {}); // nft may exit before reading everything
      if (input !== undefined) child.stdin!.end(input);
      else child.stdin?.end();
    });
}

// --- validation -----------------------------------------------------------------------------

const bad = (msg: string): never => {
  throw new UvsError('UVS_ISOLATION_BAD_RULE', msg);
};

interface Addr {
  v6: boolean;
  /** Canonical text (what nft is given). */
  text: string;
  bytes: number[];
}

function parseAddr(s: unknown, where: string): Addr {
  if (typeof s !== 'string' || s === '') return bad(`${where}: address must be a string, got ${JSON.stringify(s)}`);
  let a: ipaddr.IPv4 | ipaddr.IPv6;
  if (ipaddr.IPv4.isValidFourPartDecimal(s)) a = ipaddr.IPv4.parse(s);
  else if (!s.includes('%') && s.includes(':') && ipaddr.IPv6.isValid(s)) {
    a = ipaddr.IPv6.parse(s);
    if (a.isIPv4MappedAddress()) a = a.toIPv4Address();
  } else return bad(`${where}: '${s}' is not an IPv4 (dotted quad) or IPv6 address`);
  // What cannot be balanced (ipaddr.js calls documentation and benchmarking ranges such as
  // 198.18.0.0/15 "reserved": those are fine, the lab uses them).
  const range = a.range();
  if (['unspecified', 'multicast', 'broadcast', 'loopback', 'linkLocal'].includes(range)) {
    return bad(`${where}: ${s} is a ${range} address, which cannot be balanced`);
  }
  if (a.kind() === 'ipv4' && a.toByteArray()[0]! >= 240) return bad(`${where}: ${s} is in 240.0.0.0/4 (reserved), which cannot be balanced`);
  return { v6: a.kind() === 'ipv6', text: a.toString(), bytes: a.toByteArray() };
}

function parseProto(p: unknown, where: string): IsolationProtocol {
  if (typeof p === 'string' && (ISOLATION_PROTOCOLS as readonly string[]).includes(p.toLowerCase())) return p.toLowerCase() as IsolationProtocol;
  return bad(`${where}: protocol must be one of ${ISOLATION_PROTOCOLS.join(', ')}, got ${JSON.stringify(p)}`);
}

function parsePort(p: unknown, where: string): number {
  if (typeof p === 'number' && Number.isInteger(p) && p >= 0 && p <= 65535) return p;
  return bad(`${where}: port must be an integer 0..65535 (0 = every port), got ${JSON.stringify(p)}`);
}

const IFNAME = /^[A-Za-z0-9_.:@-]{1,15}$/;
const TABLE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;

interface Entry {
  addr: Addr;
  proto: IsolationProtocol;
  port: number;
  origin: string;
}

interface Prepared {
  normalized: NormalizedRules;
  services: Entry[];
  realServers: Entry[];
  routers: { addr: Addr; origin: string }[];
}

function prepare(rules: IsolationRules): Prepared {
  if (rules === null || typeof rules !== 'object') bad('rules must be an object');
  const known = new Set(['services', 'realServers', 'natRouterAddresses', 'kernelPing', 'interfaces']);
  for (const k of Object.keys(rules)) if (!known.has(k)) bad(`unknown rules field '${k}' (known: ${[...known].join(', ')})`);
  const list = <T>(v: T[] | undefined, name: string): T[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v)) return bad(`${name} must be an array`);
    return v;
  };
  const dedupe = (entries: Entry[]): Entry[] => {
    const seen = new Map<string, Entry>();
    for (const e of entries) {
      const k = `${e.addr.text}|${e.proto}|${e.port}`;
      if (!seen.has(k)) seen.set(k, e);
    }
    return [...seen.values()];
  };
  const services = dedupe(
    list(rules.services, 'services').map((s, i) => {
      const where = `services[${i}]`;
      if (s === null || typeof s !== 'object') bad(`${where} must be an object`);
      const addr = parseAddr(s.vip, `${where}.vip`);
      const proto = parseProto(s.protocol, `${where}.protocol`);
      const port = parsePort(s.port, `${where}.port`);
      return { addr, proto, port, origin: `${where}: ${proto} ${hostPort(addr, port)}` };
    }),
  );
  const realServers = dedupe(
    list(rules.realServers, 'realServers').map((r, i) => {
      const where = `realServers[${i}]`;
      if (r === null || typeof r !== 'object') bad(`${where} must be an object`);
      const addr = parseAddr(r.address, `${where}.address`);
      const proto = parseProto(r.protocol, `${where}.protocol`);
      const port = parsePort(r.port, `${where}.port`);
      return { addr, proto, port, origin: `${where}: ${proto} ${hostPort(addr, port)}` };
    }),
  );
  const routerMap = new Map<string, { addr: Addr; origin: string }>();
  list(rules.natRouterAddresses, 'natRouterAddresses').forEach((a, i) => {
    const addr = parseAddr(a, `natRouterAddresses[${i}]`);
    if (!routerMap.has(addr.text)) routerMap.set(addr.text, { addr, origin: `natRouterAddresses[${i}]: ${addr.text}` });
  });
  const vips = new Set(services.map((s) => s.addr.text));
  for (const r of routerMap.values()) {
    if (vips.has(r.addr.text)) bad(`${r.origin} is also a VIP: an address is either a VIP or a NAT router address`);
  }
  if (rules.kernelPing !== undefined && typeof rules.kernelPing !== 'boolean') bad('kernelPing must be a boolean');
  let interfaces: string[] | null = null;
  if (rules.interfaces !== undefined) {
    interfaces = [...new Set(list(rules.interfaces, 'interfaces'))];
    if (interfaces.length === 0) bad('interfaces: give at least one interface, or leave it out (every interface but lo)');
    interfaces.forEach((n, i) => {
      if (typeof n !== 'string' || !IFNAME.test(n)) bad(`interfaces[${i}]: bad interface name ${JSON.stringify(n)}`);
    });
  }
  const routers = [...routerMap.values()];
  return {
    normalized: {
      services: services.map((e) => ({ protocol: e.proto, vip: e.addr.text, port: e.port })),
      realServers: realServers.map((e) => ({ protocol: e.proto, address: e.addr.text, port: e.port })),
      natRouterAddresses: routers.map((r) => r.addr.text),
      kernelPing: rules.kernelPing ?? true,
      interfaces,
    },
    services,
    realServers,
    routers,
  };
}

function hostPort(a: Addr, port: number): string {
  const p = port === 0 ? '*' : String(port);
  return a.v6 ? `[${a.text}]:${p}` : `${a.text}:${p}`;
}

// --- the nft script -------------------------------------------------------------------------

/** A rendered transaction: the script and, for each line, what it is for (error messages). */
export interface RenderedScript {
  script: string;
  lines: string[];
  origins: string[];
  /** Number of set elements. */
  elements: number;
}

const hex = (bytes: number[]): string => '0x' + bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
const hex8 = (n: number): string => '0x' + n.toString(16).padStart(2, '0');
const hex16 = (n: number): string => '0x' + n.toString(16).padStart(4, '0');

// ICMP errors quote the offending packet after the 8-byte ICMP header. Offsets (bits, from
// the transport header) of the quoted header's fields, for a quoted IPv4 header without
// options (IHL 5, checked) and an IPv6 header without extension headers:
const Q4 = { vihl: '@th,64,8', proto: '@th,136,8', saddr: '@th,160,32', daddr: '@th,192,32', sport: '@th,224,16', dport: '@th,240,16' };
const Q6 = { nexthdr: '@th,112,8', saddr: '@th,128,128', daddr: '@th,256,128', sport: '@th,384,16', dport: '@th,400,16' };
const ICMP4_ERRORS = '{ destination-unreachable, source-quench, redirect, time-exceeded, parameter-problem }';
const ICMP6_ERRORS = '{ destination-unreachable, packet-too-big, time-exceeded, parameter-problem }';
const ND6 = '{ nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect }';

/** Set declarations: name → type/typeof clause. */
const SETS: [string, string][] = [
  // Services (to a VIP).
  ['vip4', 'type ipv4_addr'],
  ['svc4', 'type ipv4_addr . inet_proto . inet_service'],
  ['svcall4', 'type ipv4_addr . inet_proto'],
  ['svcproto4', 'type ipv4_addr . inet_proto'],
  ['svcicmp4', `typeof ${Q4.saddr} . ${Q4.proto} . ${Q4.sport}`],
  ['svcallicmp4', `typeof ${Q4.saddr} . ${Q4.proto}`],
  ['vip6', 'type ipv6_addr'],
  ['svc6', 'type ipv6_addr . inet_proto . inet_service'],
  ['svcall6', 'type ipv6_addr . inet_proto'],
  ['svcproto6', 'type ipv6_addr . inet_proto'],
  ['svcicmp6', `typeof ${Q6.saddr} . ${Q6.nexthdr} . ${Q6.sport}`],
  ['svcallicmp6', `typeof ${Q6.saddr} . ${Q6.nexthdr}`],
  // NAT real servers (from a RIP).
  ['rsaddr4', 'type ipv4_addr'],
  ['rs4', 'type ipv4_addr . inet_proto . inet_service'],
  ['rsall4', 'type ipv4_addr . inet_proto'],
  ['rsproto4', 'type ipv4_addr . inet_proto'],
  ['rsicmp4', `typeof ${Q4.daddr} . ${Q4.proto} . ${Q4.dport}`],
  ['rsallicmp4', `typeof ${Q4.daddr} . ${Q4.proto}`],
  ['rsaddr6', 'type ipv6_addr'],
  ['rs6', 'type ipv6_addr . inet_proto . inet_service'],
  ['rsall6', 'type ipv6_addr . inet_proto'],
  ['rsproto6', 'type ipv6_addr . inet_proto'],
  ['rsicmp6', `typeof ${Q6.daddr} . ${Q6.nexthdr} . ${Q6.dport}`],
  ['rsallicmp6', `typeof ${Q6.daddr} . ${Q6.nexthdr}`],
  // NAT router addresses.
  ['router4', 'type ipv4_addr'],
  ['router6', 'type ipv6_addr'],
];

const CHAINS = ['prerouting', 'to_vip4', 'to_vip6', 'from_rs4', 'from_rs6', 'to_router4', 'to_router6'];

function chainRules(rules: NormalizedRules): Record<string, string[]> {
  const c = (name: string): string => `counter name ${name}`;
  const ping4 = rules.kernelPing ? 'icmp type echo-request return' : `icmp type echo-request ${c('ping')} drop`;
  const ping6 = rules.kernelPing ? 'icmpv6 type echo-request return' : `icmpv6 type echo-request ${c('ping')} drop`;
  const scope = rules.interfaces === null ? ['meta iif lo return'] : [`iifname != { ${rules.interfaces.map((n) => `"${n}"`).join(', ')} } return`];
  return {
    prerouting: [
      ...scope,
      'ip daddr @vip4 goto to_vip4',
      'ip6 daddr @vip6 goto to_vip6',
      'ip daddr @router4 goto to_router4',
      'ip6 daddr @router6 goto to_router6',
      'ip saddr @rsaddr4 goto from_rs4',
      'ip6 saddr @rsaddr6 goto from_rs6',
    ],
    to_vip4: [
      `fib daddr type != local ${c('vip_nonlocal')} drop`,
      `ip daddr . meta l4proto . th dport @svc4 ${c('vip')} drop`,
      `ip daddr . meta l4proto @svcall4 ${c('vip')} drop`,
      `ip frag-off & 0x1fff != 0 ip daddr . meta l4proto @svcproto4 ${c('vip')} drop`,
      `icmp type ${ICMP4_ERRORS} ${Q4.vihl} 0x45 ${Q4.saddr} . ${Q4.proto} . ${Q4.sport} @svcicmp4 ${c('vip_icmp')} drop`,
      `icmp type ${ICMP4_ERRORS} ${Q4.saddr} . ${Q4.proto} @svcallicmp4 ${c('vip_icmp')} drop`,
      ping4,
    ],
    to_vip6: [
      `icmpv6 type ${ND6} return`,
      `fib daddr type != local ${c('vip_nonlocal')} drop`,
      `ip6 daddr . meta l4proto . th dport @svc6 ${c('vip')} drop`,
      `ip6 daddr . meta l4proto @svcall6 ${c('vip')} drop`,
      `frag frag-off != 0 ip6 daddr . meta l4proto @svcproto6 ${c('vip')} drop`,
      `icmpv6 type ${ICMP6_ERRORS} ${Q6.saddr} . ${Q6.nexthdr} . ${Q6.sport} @svcicmp6 ${c('vip_icmp')} drop`,
      `icmpv6 type ${ICMP6_ERRORS} ${Q6.saddr} . ${Q6.nexthdr} @svcallicmp6 ${c('vip_icmp')} drop`,
      ping6,
    ],
    from_rs4: [
      'fib daddr type local return',
      `ip saddr . meta l4proto . th sport @rs4 ${c('rs')} drop`,
      `ip saddr . meta l4proto @rsall4 ${c('rs')} drop`,
      `ip frag-off & 0x1fff != 0 ip saddr . meta l4proto @rsproto4 ${c('rs')} drop`,
      `icmp type ${ICMP4_ERRORS} ${Q4.vihl} 0x45 ${Q4.daddr} . ${Q4.proto} . ${Q4.dport} @rsicmp4 ${c('rs_icmp')} drop`,
      `icmp type ${ICMP4_ERRORS} ${Q4.daddr} . ${Q4.proto} @rsallicmp4 ${c('rs_icmp')} drop`,
    ],
    from_rs6: [
      'fib daddr type local return',
      `ip6 saddr . meta l4proto . th sport @rs6 ${c('rs')} drop`,
      `ip6 saddr . meta l4proto @rsall6 ${c('rs')} drop`,
      `frag frag-off != 0 ip6 saddr . meta l4proto @rsproto6 ${c('rs')} drop`,
      `icmpv6 type ${ICMP6_ERRORS} ${Q6.daddr} . ${Q6.nexthdr} . ${Q6.dport} @rsicmp6 ${c('rs_icmp')} drop`,
      `icmpv6 type ${ICMP6_ERRORS} ${Q6.daddr} . ${Q6.nexthdr} @rsallicmp6 ${c('rs_icmp')} drop`,
    ],
    to_router4: [`fib daddr type != local ${c('router')} drop`, ping4, `${c('router')} drop`],
    to_router6: [`icmpv6 type ${ND6} return`, `fib daddr type != local ${c('router')} drop`, ping6, `${c('router')} drop`],
  };
}

/**
 * The whole transaction for `rules`: declare (idempotently) the table, its sets, counters
 * and chains, empty them, and fill them. Pure; exported for tests and `--dry-run`s.
 * With `recreate`, any existing table of that name is deleted first (open()).
 */
export function renderIsolation(rules: IsolationRules, opts: { table?: string; priority?: number; recreate?: boolean } = {}): RenderedScript & { normalized: NormalizedRules } {
  const table = opts.table ?? DEFAULT_TABLE;
  checkTable(table);
  const priority = opts.priority ?? DEFAULT_PRIORITY;
  checkPriority(priority);
  const p = prepare(rules);
  const T = `inet ${table}`;
  const lines: string[] = [];
  const origins: string[] = [];
  const emit = (line: string, origin: string): void => {
    lines.push(line);
    origins.push(origin);
  };
  if (opts.recreate) {
    emit(`add table ${T}`, `remove a leftover table ${table}`);
    emit(`delete table ${T}`, `remove a leftover table ${table}`);
  }
  emit(`add table ${T}`, `table ${table}`);
  emit(`flush table ${T}`, `table ${table}: remove the previous rules`);
  for (const [name, type] of SETS) emit(`add set ${T} ${name} { ${type}; }`, `set ${name}`);
  for (const name of new Set(Object.values(COUNTERS))) emit(`add counter ${T} ${name}`, `counter ${name}`);
  emit(`add chain ${T} prerouting { type filter hook prerouting priority ${priority}; policy accept; }`, 'base chain prerouting');
  for (const name of CHAINS.slice(1)) emit(`add chain ${T} ${name}`, `chain ${name}`);
  for (const [name] of SETS) emit(`flush set ${T} ${name}`, `set ${name}: remove the previous elements`);
  const rulesByChain = chainRules(p.normalized);
  for (const chain of CHAINS) for (const r of rulesByChain[chain]!) emit(`add rule ${T} ${chain} ${r}`, `chain ${chain}`);

  // Elements, one per line (so nft's line number names the service at fault).
  const elems = new Map<string, { el: string; origin: string }[]>(SETS.map(([n]) => [n, []]));
  const add = (set: string, el: string, origin: string): void => {
    elems.get(set)!.push({ el, origin });
  };
  const once = new Set<string>();
  const addOnce = (set: string, el: string, origin: string): void => {
    const k = `${set} ${el}`;
    if (once.has(k)) return;
    once.add(k);
    add(set, el, origin);
  };
  for (const s of p.services) {
    const f = s.addr.v6 ? '6' : '4';
    const pn = PROTO_NUM[s.proto];
    addOnce(`vip${f}`, s.addr.text, s.origin);
    addOnce(`svcproto${f}`, `${s.addr.text} . ${s.proto}`, s.origin);
    if (s.port === 0) {
      add(`svcall${f}`, `${s.addr.text} . ${s.proto}`, s.origin);
      add(`svcallicmp${f}`, `${hex(s.addr.bytes)} . ${hex8(pn)}`, s.origin);
    } else {
      add(`svc${f}`, `${s.addr.text} . ${s.proto} . ${s.port}`, s.origin);
      add(`svcicmp${f}`, `${hex(s.addr.bytes)} . ${hex8(pn)} . ${hex16(s.port)}`, s.origin);
    }
  }
  for (const r of p.realServers) {
    const f = r.addr.v6 ? '6' : '4';
    const pn = PROTO_NUM[r.proto];
    addOnce(`rsaddr${f}`, r.addr.text, r.origin);
    addOnce(`rsproto${f}`, `${r.addr.text} . ${r.proto}`, r.origin);
    if (r.port === 0) {
      add(`rsall${f}`, `${r.addr.text} . ${r.proto}`, r.origin);
      add(`rsallicmp${f}`, `${hex(r.addr.bytes)} . ${hex8(pn)}`, r.origin);
    } else {
      add(`rs${f}`, `${r.addr.text} . ${r.proto} . ${r.port}`, r.origin);
      add(`rsicmp${f}`, `${hex(r.addr.bytes)} . ${hex8(pn)} . ${hex16(r.port)}`, r.origin);
    }
  }
  for (const r of p.routers) add(`router${r.addr.v6 ? '6' : '4'}`, r.addr.text, r.origin);
  let elements = 0;
  for (const [set, list] of elems) {
    if (list.length === 0) continue;
    elements += list.length;
    list.forEach(({ el, origin }, i) => {
      const head = i === 0 ? `add element ${T} ${set} { ` : '  ';
      const tail = i === list.length - 1 ? ' }' : ',';
      emit(`${head}${el}${tail}`, `${origin} (set ${set})`);
    });
  }
  return { script: lines.join('\n') + '\n', lines, origins, elements, normalized: p.normalized };
}

function checkTable(table: string): void {
  if (typeof table !== 'string' || !TABLE_NAME.test(table)) {
    throw new UvsError('UVS_ISOLATION_BAD_OPTION', `table name must be a letter then up to 31 letters, digits or '_', got ${JSON.stringify(table)}`);
  }
}

function checkPriority(priority: number): void {
  if (!Number.isInteger(priority) || priority >= CONNTRACK_PRIORITY || priority < -1000) {
    throw new UvsError(
      'UVS_ISOLATION_BAD_OPTION',
      `priority must be an integer in -1000..${CONNTRACK_PRIORITY - 1} (before conntrack at ${CONNTRACK_PRIORITY}), got ${String(priority)}`,
    );
  }
}

/** Turn a failed nft run into a coded error naming the line of the script and what it was for. */
function nftFailure(what: string, r: NftResult, where: string, rendered: RenderedScript | null): UvsError {
  if (r.notFound === 'nft') {
    return new UvsError(
      'UVS_ISOLATION_NO_NFT',
      `kernel isolation needs the nft command (Debian/Ubuntu package 'nftables': apt-get install nftables)${where}: ${r.stderr.trim()}`,
    );
  }
  if (r.notFound === 'ip') {
    return new UvsError('UVS_ISOLATION_NO_NFT', `running nft in a network namespace needs the ip command (package 'iproute2')${where}: ${r.stderr.trim()}`);
  }
  const stderr = r.stderr.trim();
  const m = /^[^\n]*?:(\d+):(\d+)(?:-(\d+))?: Error: ([^\n]*)$/m.exec(stderr);
  const plain = /^Error: ([^\n]*)$/m.exec(stderr);
  const nftMessage = m?.[4] ?? plain?.[1] ?? (stderr || `exit code ${String(r.code)}`);
  const line = m ? Number(m[1]) : null;
  let origin: string | null = null;
  let text = '';
  if (line !== null && rendered) {
    origin = rendered.origins[line - 1] ?? 'a line that is not in the script uvs rendered';
    text = rendered.lines[line - 1] ?? '';
  }
  // nft quotes the offending line under its message: prefer it (it is what nft read).
  if (m) {
    const after = stderr.slice(m.index + m[0].length).split('\n')[1];
    if (after !== undefined && after.trim() !== '' && !/^\s*[~^]+\s*$/.test(after)) text = after;
  }
  const perm = /Operation not permitted/.test(stderr);
  const unsupported = /Operation not supported|Could not process rule: No such file or directory/.test(stderr) && line !== null && line <= 3;
  const hint = perm
    ? ' (nftables needs CAP_NET_ADMIN: run uvs as root)'
    : unsupported
      ? ' (does the kernel have nf_tables with the inet family, fib and set support? CONFIG_NF_TABLES, CONFIG_NF_TABLES_INET, CONFIG_NFT_FIB_INET)'
      : '';
  const at = line !== null ? ` at line ${line}${origin ? ` (${origin})` : ''}${text ? `: ${text.trim()}` : ''}` : '';
  return new NftError(
    perm ? 'UVS_ISOLATION_PERMISSION' : 'UVS_ISOLATION_NFT',
    `${what}${where}: nft rejected the transaction${at}: ${nftMessage}${hint}; nothing of it was applied`,
    { line, origin, nftMessage, stderr: r.stderr, exitCode: r.code },
  );
}

// --- the API --------------------------------------------------------------------------------

export interface ApplyResult {
  /** Set elements installed. */
  elements: number;
  /** Lines of the transaction. */
  lines: number;
  ms: number;
}

export class KernelIsolation {
  readonly table: string;
  readonly netns: string | null;
  readonly priority: number;
  private readonly exec: NftExec;
  private current: NormalizedRules | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(table: string, netns: string | null, priority: number, exec: NftExec) {
    this.table = table;
    this.netns = netns;
    this.priority = priority;
    this.exec = exec;
  }

  /**
   * Take ownership of the table: a table of that name left by an earlier run (e.g. killed
   * with SIGKILL) is deleted, and an empty one (nothing isolated yet) is created, in one
   * transaction. Throws UVS_ISOLATION_NO_NFT, UVS_ISOLATION_PERMISSION, UVS_ISOLATION_NFT,
   * UVS_ISOLATION_BAD_OPTION.
   */
  static async open(opts: IsolationOptions = {}): Promise<KernelIsolation> {
    const table = opts.table ?? DEFAULT_TABLE;
    checkTable(table);
    const priority = opts.priority ?? DEFAULT_PRIORITY;
    checkPriority(priority);
    if (opts.netns !== undefined && (typeof opts.netns !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(opts.netns))) {
      throw new UvsError('UVS_ISOLATION_BAD_OPTION', `bad network namespace name ${JSON.stringify(opts.netns)}`);
    }
    const iso = new KernelIsolation(table, opts.netns ?? null, priority, opts.exec ?? nftExec(opts));
    const rendered = renderIsolation({}, { table, priority, recreate: true });
    await iso.run(rendered, `open table inet ${table}`);
    return iso;
  }

  /** The rules in force (as normalized by the last successful apply()), or null before any. */
  get rules(): NormalizedRules | null {
    return this.current;
  }

  /**
   * Replace what is isolated with `rules`, atomically (one nft transaction). If it throws,
   * the previous rules are still in force, untouched. Calls are serialized.
   * Throws UVS_ISOLATION_BAD_RULE (validation: nothing was run), UVS_ISOLATION_NFT
   * (NftError: line, what it was for, nft's message), UVS_ISOLATION_CLOSED.
   */
  async apply(rules: IsolationRules): Promise<ApplyResult> {
    this.assertOpen();
    const rendered = renderIsolation(rules, { table: this.table, priority: this.priority });
    return this.serial(async () => {
      this.assertOpen();
      const t0 = performance.now();
      await this.run(rendered, 'apply');
      this.current = rendered.normalized;
      return { elements: rendered.elements, lines: rendered.lines.length, ms: performance.now() - t0 };
    });
  }

  /** The named counters: how much the kernel was kept out of, since open(). */
  async counters(): Promise<IsolationCounters> {
    this.assertOpen();
    return this.serial(async () => {
      const r = await this.exec(['-j', 'list', 'counters', 'table', 'inet', this.table]);
      if (r.code !== 0) throw nftFailure('read counters', r, this.where(), null);
      const out = {} as IsolationCounters;
      const byName = new Map<string, IsolationCounter>();
      for (const item of (JSON.parse(r.stdout) as { nftables: { counter?: { name: string; packets: number; bytes: number } }[] }).nftables) {
        if (item.counter) byName.set(item.counter.name, { packets: item.counter.packets, bytes: item.counter.bytes });
      }
      for (const [k, name] of Object.entries(COUNTERS)) out[k as keyof IsolationCounters] = byName.get(name) ?? { packets: 0, bytes: 0 };
      return out;
    });
  }

  /** `nft list table inet TABLE` (for logs and debugging). */
  async list(): Promise<string> {
    this.assertOpen();
    return this.serial(async () => {
      const r = await this.exec(['list', 'table', 'inet', this.table]);
      if (r.code !== 0) throw nftFailure('list', r, this.where(), null);
      return r.stdout;
    });
  }

  /** Delete the table (the kernel handles everything again). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    return this.serial(async () => {
      const T = `inet ${this.table}`;
      const script = `add table ${T}\ndelete table ${T}\n`;
      const r = await this.exec(['-f', '-'], script);
      if (r.code !== 0) throw nftFailure(`close (delete table ${T})`, r, this.where(), null);
      this.current = null;
    });
  }

  private async run(rendered: RenderedScript, what: string): Promise<void> {
    const r = await this.exec(['-f', '-'], rendered.script);
    if (r.code !== 0) throw nftFailure(`${what} (table inet ${this.table})`, r, this.where(), rendered);
  }

  private where(): string {
    return this.netns === null ? '' : ` in network namespace ${this.netns}`;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => {});
    return p;
  }

  private assertOpen(): void {
    if (this.closed) throw new UvsError('UVS_ISOLATION_CLOSED', `kernel isolation (table inet ${this.table}${this.where()}) is closed`);
  }
}
