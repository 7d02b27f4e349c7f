// The minimal configuration `uvs forward --config FILE` reads before the full config
// dialects (ipvsadm rules, lvs.cf, keepalived.conf) arrive with the daemon: JSON naming
// the director's interfaces, the virtual services and their real servers. Every error
// names the file and the JSON path of the offending value.
//
//   { "interfaces": ["pub0", "priv0"], "workers": 2,
//     "owned": ["198.19.0.254"],
//     "services": [ { "protocol": "tcp", "address": "198.18.0.100", "port": 80, "scheduler": "rr",
//                     "servers": [ { "address": "198.19.0.11", "port": 80, "weight": 1, "method": "nat" } ] } ] }
//
// A service may also be persistent ("persistent": seconds, "netmask": "255.255.255.0"),
// take scheduler flags ("schedFlags": ["sh-port"]), or be a firewall-mark service
// ({ "fwmark": 1, ... } grouping what the "markRules" classify: iptables-shaped MARK
// rules). Real servers take thresholds ("upper", "lower"). "timeouts" ({tcp, tcpfin, udp},
// as ipvsadm --set) and "sysctl" ({expire_nodest_conn, ...}) tune the datapath.

import { readFileSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { UvsError } from '../errors.js';
import { ip4FromString } from '../packet/addr.js';
import { SCHED_F_FALLBACK, SCHED_F_PORT, SCHED_F_SCHED3, schedulerNames } from '../schedulers/index.js';
import { MarkClassifier, parseMarkRules, type MarkRule } from '../tables/fwmark.js';
import { DEFAULT_TIMEOUTS, TCP_ESTABLISHED, TCP_FIN_WAIT, UDP_STATE } from '../tables/tcp-states.js';
import { DEFAULT_SYSCTL, METHOD_BY_NAME, type DatapathSnapshot, type DatapathSysctl, type MethodName, type ServiceSnapshot } from './snapshot.js';
import type { RouteSpec } from './routes.js';
import type { IsolationRules } from './isolation.js';

export interface ForwardServer {
  address: string;
  port: number;
  weight: number;
  method: MethodName;
  /** Connection thresholds (-x, -y); 0 = none. */
  upper: number;
  lower: number;
}

export interface ForwardService {
  /** Address services: protocol, address and port (port 0 = every port, persistent only). */
  protocol: 'tcp' | 'udp';
  address: string;
  port: number;
  /** Firewall-mark service: the mark (then protocol/address/port are unused). 0 = address service. */
  fwmark: number;
  scheduler: string;
  schedFlags: number;
  /** Persistence timeout in seconds (-p); 0 = not persistent. */
  persistent: number;
  /** Persistence netmask (-M), dotted. */
  netmask: string;
  servers: ForwardServer[];
}

export interface ForwardConfig {
  interfaces: string[];
  workers?: number;
  /** Connection-table entries per worker. */
  connections?: number;
  /** Extra floating addresses to answer ARP for (e.g. the real servers' NAT gateway). */
  owned: string[];
  services: ForwardService[];
  /** Firewall-mark rules in iptables shape (one per string). */
  markRules: MarkRule[];
  /** ipvsadm --set tcp tcpfin udp (seconds; 0 keeps the default). */
  timeouts: { tcp: number; tcpfin: number; udp: number };
  sysctl: DatapathSysctl;
}

/** ipvsadm -b names and the flag bits they set (sh-* only with sh, mh-* only with mh). */
const SCHED_FLAG_BITS: Record<string, { bit: number; scheduler?: string }> = {
  'flag-1': { bit: SCHED_F_FALLBACK },
  'flag-2': { bit: SCHED_F_PORT },
  'flag-3': { bit: SCHED_F_SCHED3 },
  'sh-fallback': { bit: SCHED_F_FALLBACK, scheduler: 'sh' },
  'sh-port': { bit: SCHED_F_PORT, scheduler: 'sh' },
  'mh-fallback': { bit: SCHED_F_FALLBACK, scheduler: 'mh' },
  'mh-port': { bit: SCHED_F_PORT, scheduler: 'mh' },
};

/** ipvsadm --set accepts 0..2678400 s (31 days). */
const MAX_TIMEOUT = 2678400;

/** The flag bits of ipvsadm -b names (unknown names contribute nothing: validate first). */
export function schedFlagBits(names: readonly string[]): number {
  let bits = 0;
  for (const n of names) bits |= SCHED_FLAG_BITS[n]?.bit ?? 0;
  return bits;
}

const SYSCTL_KEYS: Record<string, { key: keyof DatapathSysctl; max: number }> = {
  expire_nodest_conn: { key: 'expireNodestConn', max: 1 },
  expire_quiescent_template: { key: 'expireQuiescentTemplate', max: 1 },
  conn_reuse_mode: { key: 'connReuseMode', max: 3 },
  sloppy_tcp: { key: 'sloppyTcp', max: 1 },
  drop_entry: { key: 'dropEntry', max: 3 },
  lblc_expiration: { key: 'lblcExpiration', max: MAX_TIMEOUT },
  lblcr_expiration: { key: 'lblcrExpiration', max: MAX_TIMEOUT },
};



class ConfigError extends UvsError {
  constructor(file: string, path: string, message: string) {
    super('UVS_CONFIG', `${file}: ${path}: ${message}`);
  }
}

function ipv4(file: string, path: string, v: unknown): string {
  if (typeof v !== 'string' || !ipaddr.IPv4.isValidFourPartDecimal(v)) throw new ConfigError(file, path, `expected an IPv4 address (a.b.c.d), got ${JSON.stringify(v)}`);
  return v;
}

function int(file: string, path: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ConfigError(file, path, `expected an integer ${min}..${max}, got ${JSON.stringify(v)}`);
  return v;
}

/** Parses and validates a forward config; `file` names it in errors. */
export function parseForwardConfig(text: string, file: string): ForwardConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UvsError('UVS_CONFIG', `${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(file, '$', 'expected an object');
  const o = raw as Record<string, unknown>;
  const known = new Set(['interfaces', 'workers', 'connections', 'owned', 'services', 'markRules', 'timeouts', 'sysctl']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new ConfigError(file, `$.${k}`, `unknown key (expected one of ${[...known].join(', ')})`);
  if (!Array.isArray(o.interfaces) || o.interfaces.length === 0 || !o.interfaces.every((i) => typeof i === 'string' && i.length > 0 && i.length < 16))
    throw new ConfigError(file, '$.interfaces', 'expected a non-empty array of interface names');
  const cfg: ForwardConfig = { interfaces: o.interfaces as string[], owned: [], services: [], markRules: [], timeouts: { tcp: 0, tcpfin: 0, udp: 0 }, sysctl: { ...DEFAULT_SYSCTL } };
  if (o.workers !== undefined) cfg.workers = int(file, '$.workers', o.workers, 1, 16);
  if (o.connections !== undefined) cfg.connections = int(file, '$.connections', o.connections, 16, 1 << 24);
  if (o.owned !== undefined) {
    if (!Array.isArray(o.owned)) throw new ConfigError(file, '$.owned', 'expected an array of IPv4 addresses');
    cfg.owned = o.owned.map((a, i) => ipv4(file, `$.owned[${i}]`, a));
  }
  if (o.markRules !== undefined) {
    if (!Array.isArray(o.markRules) || !o.markRules.every((r) => typeof r === 'string')) throw new ConfigError(file, '$.markRules', 'expected an array of iptables MARK rules (strings)');
    // Errors name the file and the rule's position (as its "line").
    cfg.markRules = parseMarkRules((o.markRules as string[]).join('\n'), `${file}: $.markRules`);
  }
  if (o.timeouts !== undefined) {
    const to = object(file, '$.timeouts', o.timeouts, ['tcp', 'tcpfin', 'udp']);
    for (const k of ['tcp', 'tcpfin', 'udp'] as const) if (to[k] !== undefined) cfg.timeouts[k] = int(file, `$.timeouts.${k}`, to[k], 0, MAX_TIMEOUT);
  }
  if (o.sysctl !== undefined) {
    const sc = object(file, '$.sysctl', o.sysctl, Object.keys(SYSCTL_KEYS));
    for (const [name, { key, max }] of Object.entries(SYSCTL_KEYS)) if (sc[name] !== undefined) cfg.sysctl[key] = int(file, `$.sysctl.${name}`, sc[name], 0, max);
  }
  if (!Array.isArray(o.services)) throw new ConfigError(file, '$.services', 'expected an array');
  const seen = new Set<string>();
  o.services.forEach((s: unknown, i: number) => {
    const svc = parseService(file, `$.services[${i}]`, s);
    const key = serviceName(svc);
    if (seen.has(key)) throw new ConfigError(file, `$.services[${i}]`, `duplicate service ${key}`);
    seen.add(key);
    cfg.services.push(svc);
  });
  return cfg;
}

function object(file: string, path: string, v: unknown, keys: string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(file, path, 'expected an object');
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw new ConfigError(file, `${path}.${k}`, `unknown key (expected one of ${keys.join(', ')})`);
  return v as Record<string, unknown>;
}

/** "tcp 198.18.0.100:80" or "fwmark 1": how errors and stats name a service. */
export function serviceName(s: ForwardService): string {
  return s.fwmark !== 0 ? `fwmark ${s.fwmark}` : `${s.protocol} ${s.address}:${s.port}`;
}

/** Whether a netmask is ones then zeros (what -M accepts). */
function contiguousMask(mask: number): boolean {
  const host = ~mask >>> 0;
  return (host & (host + 1)) === 0;
}

function parseService(file: string, p: string, s: unknown): ForwardService {
  if (typeof s !== 'object' || s === null) throw new ConfigError(file, p, 'expected an object');
  const so = s as Record<string, unknown>;
  const known = ['protocol', 'address', 'port', 'fwmark', 'scheduler', 'schedFlags', 'persistent', 'netmask', 'servers'];
  for (const k of Object.keys(so)) if (!known.includes(k)) throw new ConfigError(file, `${p}.${k}`, `unknown key (expected one of ${known.join(', ')})`);
  const fwmark = so.fwmark === undefined ? 0 : int(file, `${p}.fwmark`, so.fwmark, 1, 0xffffffff);
  const scheduler = so.scheduler ?? 'wlc';
  if (typeof scheduler !== 'string' || !schedulerNames().includes(scheduler)) throw new ConfigError(file, `${p}.scheduler`, `unknown scheduler ${JSON.stringify(scheduler)} (have: ${schedulerNames().join(', ')})`);
  const svc: ForwardService = { protocol: 'tcp', address: '0.0.0.0', port: 0, fwmark, scheduler, schedFlags: 0, persistent: 0, netmask: '255.255.255.255', servers: [] };
  if (fwmark === 0) {
    if (so.protocol !== 'tcp' && so.protocol !== 'udp') throw new ConfigError(file, `${p}.protocol`, `expected "tcp" or "udp", got ${JSON.stringify(so.protocol)}`);
    svc.protocol = so.protocol;
    svc.address = ipv4(file, `${p}.address`, so.address);
    svc.port = int(file, `${p}.port`, so.port, 0, 65535);
  } else {
    for (const k of ['protocol', 'address', 'port']) if (so[k] !== undefined) throw new ConfigError(file, `${p}.${k}`, `a firewall-mark service (fwmark ${fwmark}) matches by mark only; remove "${k}"`);
  }
  if (so.schedFlags !== undefined) {
    if (!Array.isArray(so.schedFlags)) throw new ConfigError(file, `${p}.schedFlags`, 'expected an array of flag names');
    so.schedFlags.forEach((f: unknown, j: number) => {
      const def = typeof f === 'string' ? SCHED_FLAG_BITS[f] : undefined;
      if (!def) throw new ConfigError(file, `${p}.schedFlags[${j}]`, `invalid scheduler flag ${JSON.stringify(f)} (expected one of ${Object.keys(SCHED_FLAG_BITS).join(', ')})`);
      if (def.scheduler && def.scheduler !== scheduler) throw new ConfigError(file, `${p}.schedFlags[${j}]`, `incompatible scheduler flag "${f as string}": it needs scheduler ${def.scheduler}, the service uses ${scheduler}`);
      svc.schedFlags |= def.bit;
    });
  }
  if (so.persistent !== undefined) svc.persistent = so.persistent === true ? 360 : int(file, `${p}.persistent`, so.persistent, 1, MAX_TIMEOUT);
  if (so.netmask !== undefined) {
    const m = ipv4(file, `${p}.netmask`, so.netmask);
    if (!contiguousMask(ip4FromString(m))) throw new ConfigError(file, `${p}.netmask`, `netmask ${m} is not contiguous (ones then zeros, e.g. 255.255.255.0)`);
    if (svc.persistent === 0) throw new ConfigError(file, `${p}.netmask`, 'a netmask applies to persistent services only: set "persistent"');
    svc.netmask = m;
  }
  const name = serviceName(svc);
  if (fwmark === 0 && svc.port === 0 && svc.persistent === 0) throw new ConfigError(file, `${p}.port`, `zero port specified for non-persistent service ${name}`);
  if (!Array.isArray(so.servers)) throw new ConfigError(file, `${p}.servers`, 'expected an array');
  so.servers.forEach((d: unknown, j: number) => svc.servers.push(parseServer(file, `${p}.servers[${j}]`, d, svc)));
  return svc;
}

function parseServer(file: string, q: string, d: unknown, svc: ForwardService): ForwardServer {
  if (typeof d !== 'object' || d === null) throw new ConfigError(file, q, 'expected an object');
  const dd = d as Record<string, unknown>;
  const known = ['address', 'port', 'weight', 'method', 'upper', 'lower'];
  for (const k of Object.keys(dd)) if (!known.includes(k)) throw new ConfigError(file, `${q}.${k}`, `unknown key (expected one of ${known.join(', ')})`);
  const method = (dd.method ?? 'dr') as MethodName;
  if (!(method in METHOD_BY_NAME)) throw new ConfigError(file, `${q}.method`, `expected "nat", "dr" or "tun", got ${JSON.stringify(dd.method)}`);
  const port = dd.port === undefined ? svc.port : int(file, `${q}.port`, dd.port, 0, 65535);
  // As ipvsadm: DR and TUN cannot change the port.
  if (method !== 'nat' && port !== svc.port) throw new ConfigError(file, `${q}.port`, `${method} forwarding keeps the service port ${svc.port}; only nat can map to ${port}`);
  const upper = dd.upper === undefined ? 0 : int(file, `${q}.upper`, dd.upper, 0, 0x7fffffff);
  const lower = dd.lower === undefined ? 0 : int(file, `${q}.lower`, dd.lower, 0, 0x7fffffff);
  // The kernel refuses lower > upper (ERANGE), so -y without -x fails too.
  if (lower > upper) throw new ConfigError(file, `${q}.lower`, `lower threshold ${lower} is above the upper threshold ${upper}`);
  return { address: ipv4(file, `${q}.address`, dd.address), port, weight: dd.weight === undefined ? 1 : int(file, `${q}.weight`, dd.weight, 0, 65535), method, upper, lower };
}

export function loadForwardConfig(file: string): ForwardConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UvsError('UVS_CONFIG', `${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseForwardConfig(text, file);
}

/** The identity of a real server of a service, under which its stats slot is kept. */
export function destSlotKey(s: ForwardService, d: Pick<ForwardServer, 'address' | 'port'>): string {
  return `${serviceName(s)} -> ${d.address}:${d.port}`;
}

/**
 * Builds a datapath snapshot. Real servers keep their stats slot across calls through
 * `slots` (key "proto vip:port -> rip:port"), so counters survive a reload.
 */
export function snapshotOf(cfg: ForwardConfig, routes: RouteSpec[], slots: Map<string, number>): Omit<DatapathSnapshot, 'generation'> {
  const services: ServiceSnapshot[] = cfg.services.map((s) => ({
    protocol: s.fwmark !== 0 ? 0 : s.protocol === 'tcp' ? 6 : 17,
    address: s.fwmark !== 0 ? 0 : ip4FromString(s.address),
    port: s.port,
    fwmark: s.fwmark,
    scheduler: s.scheduler,
    schedFlags: s.schedFlags,
    ...(s.persistent > 0 ? { persistence: { timeout: s.persistent, netmask: ip4FromString(s.netmask) } } : {}),
    // IPVS lists real servers newest first.
    dests: [...s.servers].reverse().map((d) => {
      const key = destSlotKey(s, d);
      let slot = slots.get(key);
      if (slot === undefined) {
        slot = slots.size;
        slots.set(key, slot);
      }
      return { address: ip4FromString(d.address), port: d.port, weight: d.weight, method: METHOD_BY_NAME[d.method], slot, upper: d.upper, lower: d.lower };
    }),
  }));
  const addressed = cfg.services.filter((s) => s.fwmark === 0).map((s) => s.address);
  const owned = [...new Set([...addressed, ...markDestinations(cfg), ...cfg.owned])].map(ip4FromString);
  const timeouts = [...DEFAULT_TIMEOUTS];
  if (cfg.timeouts.tcp) timeouts[TCP_ESTABLISHED] = cfg.timeouts.tcp;
  if (cfg.timeouts.tcpfin) timeouts[TCP_FIN_WAIT] = cfg.timeouts.tcpfin;
  if (cfg.timeouts.udp) timeouts[UDP_STATE] = cfg.timeouts.udp;
  return { services, owned, routes, timeouts, sysctl: { ...cfg.sysctl }, markRules: cfg.markRules };
}

/**
 * The single addresses the mark rules send to (their /32 destinations): VIPs of the
 * firewall-mark services, which uvs owns (answers ARP for) like any other VIP.
 */
function markDestinations(cfg: ForwardConfig): string[] {
  if (!cfg.services.some((s) => s.fwmark !== 0)) return [];
  return [...new Set(new MarkClassifier(cfg.markRules).isolationEntries().services.map((e) => e.vip))];
}

/** What the kernel must keep out of, for this config (see docs/isolation.md). */
export function isolationRulesOf(cfg: ForwardConfig): IsolationRules {
  const addressed = cfg.services.filter((s) => s.fwmark === 0);
  const marked = cfg.services.filter((s) => s.fwmark !== 0);
  // Firewall-mark services: what the rules mark (by /32 destination and port); their NAT
  // servers answer on any port and protocol the marks group.
  const markEntries = marked.length > 0 ? new MarkClassifier(cfg.markRules).isolationEntries().services : [];
  const services = [...addressed.map((s) => ({ protocol: s.protocol, vip: s.address, port: s.port })), ...markEntries];
  const vips = new Set(services.map((s) => s.vip));
  return {
    services,
    realServers: [
      ...addressed.flatMap((s) => s.servers.filter((d) => d.method === 'nat').map((d) => ({ protocol: s.protocol, address: d.address, port: d.port }))),
      ...marked.flatMap((s) => s.servers.filter((d) => d.method === 'nat').flatMap((d) => (['tcp', 'udp'] as const).map((protocol) => ({ protocol, address: d.address, port: d.port })))),
    ],
    // Owned addresses that are VIPs too (keepalived lists VIPs in virtual_ipaddress) are isolated as VIPs.
    natRouterAddresses: cfg.owned.filter((a) => !vips.has(a)),
  };
}
