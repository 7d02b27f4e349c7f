// The rules the kernel (ip_vs_ctl.c) and ipvsadm enforce, checked on the model whatever
// dialect it came from (reference: ipvsadm.md §3): a known scheduler, weights 0..65535,
// lower threshold <= upper, contiguous netmasks, persistence 1..2678400 s, port-0 services
// persistent, DR/TUN servers on the service port (fwmark: 0), no duplicates, scheduler
// flags that fit the scheduler, one-packet scheduling for UDP/fwmark only, tunnel options
// with tunnelling only. Every problem names where it was defined (file:line via `origin`,
// else `where`) and the value.

import ipaddr from 'ipaddr.js';
import { UvsError } from '../errors.js';
import { schedulerNames } from '../schedulers/index.js';
import type { Family, FloatingAddress, HealthCheck, RealServer, ServiceTable, VirtualService } from './model.js';
import { sameServer, sameService, serviceKey } from './model.js';

/** ipvsadm -p and --set take up to 31 days. */
const MAX_SECONDS = 2678400;
const MAX_THRESHOLD = 0x7fffffff;
/** Which scheduler a -b flag needs (none: any). */
const SCHED_FLAG_SCHEDULER: Record<string, string | undefined> = { 'flag-1': undefined, 'flag-2': undefined, 'flag-3': undefined, 'sh-fallback': 'sh', 'sh-port': 'sh', 'mh-fallback': 'mh', 'mh-port': 'mh' };
const PERSISTENCE_ENGINES = ['sip'];

const isInt = (v: unknown, min: number, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

function familyOf(address: unknown): Family | undefined {
  if (typeof address !== 'string') return undefined;
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) return 4;
  if (!address.includes('%') && ipaddr.IPv6.isValid(address)) return 6;
  return undefined;
}

/** Everything wrong with a table, one message each (empty when it is good). */
export function tableProblems(table: ServiceTable, where: string): string[] {
  const problems: string[] = [];
  for (const k of ['tcp', 'tcpfin', 'udp'] as const) {
    if (!isInt(table.timeouts[k], 0, MAX_SECONDS)) problems.push(`${where}: ${k} timeout ${String(table.timeouts[k])}: expected 0..${MAX_SECONDS} seconds`);
  }
  table.services.forEach((s, i) => {
    const at = s.origin ?? where;
    const key = serviceKey(s);
    problems.push(...serviceProblems(s, at, key));
    const earlier = table.services.slice(0, i).find((t) => sameService(t, s));
    if (earlier) problems.push(`${at}: ${key}: duplicate service (also at ${earlier.origin ?? where})`);
    s.servers.forEach((d, j) => {
      const dat = d.origin ?? at;
      const name = `${key} -> ${familyOf(d.address) === 6 ? `[${d.address}]` : d.address}:${d.port}`;
      problems.push(...serverProblems(s, d, dat, name));
      const twin = s.servers.slice(0, j).find((e) => sameServer(e, d));
      if (twin) problems.push(`${dat}: ${name}: duplicate real server (also at ${twin.origin ?? at})`);
    });
  });
  for (const a of table.director.owned) if (familyOf(a) === undefined) problems.push(`${where}: owned address ${JSON.stringify(a)}: expected an IPv4 or IPv6 address`);
  for (const f of table.director.floating ?? []) problems.push(...floatingProblems(f, where));
  return problems;
}

/** Throws one UvsError (UVS_CONFIG) listing every problem, a line each. */
export function validateTable(table: ServiceTable, where: string): void {
  const problems = tableProblems(table, where);
  if (problems.length > 0) throw new UvsError('UVS_CONFIG', problems.join('\n'));
}

function serviceProblems(s: VirtualService, at: string, key: string): string[] {
  const p: string[] = [];
  const bad = (message: string): void => void p.push(`${at}: ${key}: ${message}`);
  if (!['tcp', 'udp', 'sctp'].includes(s.protocol)) bad(`protocol ${JSON.stringify(s.protocol)}: expected tcp, udp or sctp`);
  if (s.family !== 4 && s.family !== 6) bad(`family ${String(s.family)}: expected 4 or 6`);
  if (!isInt(s.fwmark, 0, 0xffffffff)) bad(`fwmark ${String(s.fwmark)}: expected 1..4294967295`);
  if (s.fwmark !== 0) {
    if (s.address !== '') bad(`a fwmark service matches by mark only; it has the address ${JSON.stringify(s.address)}`);
  } else {
    const family = familyOf(s.address);
    if (family === undefined) bad(`address ${JSON.stringify(s.address)}: expected an IPv4 or IPv6 address`);
    else if (family !== s.family) bad(`address ${s.address} is IPv${family}, the service family IPv${s.family}`);
    if (!isInt(s.port, 0, 65535)) bad(`port ${String(s.port)}: expected 0..65535`);
    else if (s.port === 0 && s.persistent === 0) bad('zero port specified for non-persistent service (a port-0 service must be persistent)');
  }
  if (!schedulerNames().includes(s.scheduler)) bad(`unknown scheduler ${JSON.stringify(s.scheduler)} (have: ${schedulerNames().join(', ')})`);
  if (!isInt(s.persistent, 0, MAX_SECONDS)) bad(`persistence timeout ${String(s.persistent)}: expected 1..${MAX_SECONDS} seconds (0 = not persistent)`);
  if (s.family === 6) {
    if (!/^[0-9]{1,3}$/.test(s.netmask) || !isInt(Number(s.netmask), 1, 128)) bad(`persistence netmask ${JSON.stringify(s.netmask)}: an IPv6 service takes a prefix length 1..128`);
  } else if (!ipaddr.IPv4.isValidFourPartDecimal(s.netmask) || ipaddr.IPv4.parse(s.netmask).prefixLengthFromSubnetMask() === null) {
    bad(`persistence netmask ${JSON.stringify(s.netmask)}: expected a contiguous dotted netmask (e.g. 255.255.255.0)`);
  }
  for (const f of s.schedFlags) {
    if (!Object.hasOwn(SCHED_FLAG_SCHEDULER, f)) bad(`invalid scheduler flag ${JSON.stringify(f)} (expected one of ${Object.keys(SCHED_FLAG_SCHEDULER).join(', ')})`);
    else if (SCHED_FLAG_SCHEDULER[f] !== undefined && SCHED_FLAG_SCHEDULER[f] !== s.scheduler) bad(`incompatible scheduler flag ${JSON.stringify(f)}: it needs scheduler ${SCHED_FLAG_SCHEDULER[f]}, the service uses ${s.scheduler}`);
  }
  if (s.onePacket && s.fwmark === 0 && s.protocol !== 'udp') bad('one-packet scheduling is only for UDP virtual services (and fwmark services)');
  if (s.pe !== '' && !PERSISTENCE_ENGINES.includes(s.pe)) bad(`unknown persistence engine ${JSON.stringify(s.pe)} (have: ${PERSISTENCE_ENGINES.join(', ')})`);
  if (s.sorryServer) {
    if (familyOf(s.sorryServer.address) === undefined) bad(`sorry server ${JSON.stringify(s.sorryServer.address)}: expected an IPv4 or IPv6 address`);
    if (!isInt(s.sorryServer.port, 0, 65535)) bad(`sorry server port ${String(s.sorryServer.port)}: expected 0..65535`);
  }
  if (s.health) p.push(...healthProblems(s.health, at, key));
  if (s.vip) p.push(...floatingProblems(s.vip, at));
  return p;
}

function serverProblems(s: VirtualService, d: RealServer, at: string, name: string): string[] {
  const p: string[] = [];
  const bad = (message: string): void => void p.push(`${at}: ${name}: ${message}`);
  const family = familyOf(d.address);
  if (family === undefined) bad(`address ${JSON.stringify(d.address)}: expected an IPv4 or IPv6 address`);
  else if (family !== s.family && d.method !== 'tun') bad(`an IPv${family} server in an IPv${s.family} service: a different address family is allowed only for tunnelling servers`);
  if (!['nat', 'dr', 'tun'].includes(d.method)) bad(`forwarding method ${JSON.stringify(d.method)}: expected nat, dr or tun`);
  if (!isInt(d.port, 0, 65535)) bad(`port ${String(d.port)}: expected 0..65535`);
  else if (d.method !== 'nat') {
    // ipvsadm puts DR/TUN servers on the service port; a fwmark service keeps the packet's (0).
    const kept = s.fwmark !== 0 ? 0 : s.port;
    if (d.port !== kept) bad(`${d.method} forwarding keeps ${s.fwmark !== 0 ? "the packet's port (server port 0)" : `the service port ${s.port}`}; only nat can map to port ${d.port}`);
  }
  if (!isInt(d.weight, 0, 65535)) bad(`weight ${String(d.weight)}: expected 0..65535`);
  if (!isInt(d.upper, 0, MAX_THRESHOLD)) bad(`upper threshold ${String(d.upper)}: expected 0..${MAX_THRESHOLD}`);
  if (!isInt(d.lower, 0, MAX_THRESHOLD)) bad(`lower threshold ${String(d.lower)}: expected 0..${MAX_THRESHOLD}`);
  // The kernel refuses lower > upper (ERANGE), so a lower threshold alone fails too.
  else if (d.lower > d.upper) bad(`lower threshold ${d.lower} is above the upper threshold ${d.upper}`);
  if (d.method !== 'tun') {
    if (d.tunType !== undefined || d.tunPort !== undefined || d.tunCsum !== undefined) bad('tunnel options conflict with the forwarding method: they need tun');
  } else {
    const type = d.tunType ?? 'ipip';
    if (type === 'gue' && !isInt(d.tunPort, 1, 65535)) bad(`a gue tunnel needs its port 1..65535, got ${String(d.tunPort)}`);
    if (type !== 'gue' && d.tunPort !== undefined) bad(`the ${type} tunnel type takes no port (got ${d.tunPort})`);
    if (type === 'ipip' && d.tunCsum !== undefined) bad(`the ipip tunnel type takes no checksum option (got ${d.tunCsum})`);
    if (type === 'gre' && d.tunCsum === 'remcsum') bad('the gre tunnel type takes nocsum or csum, not remcsum');
  }
  for (const h of [d.health, ...(d.additionalHealth ?? [])]) if (h) p.push(...healthProblems(h, at, name));
  return p;
}

function healthProblems(h: HealthCheck, at: string, name: string): string[] {
  const p: string[] = [];
  for (const k of ['interval', 'timeout'] as const) {
    const v = h[k];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) p.push(`${at}: ${name}: health check ${k} ${String(v)}: expected seconds >= 0`);
  }
  for (const k of ['retries', 'riseCount'] as const) {
    const v = h[k];
    if (v !== undefined && !isInt(v, 0, MAX_THRESHOLD)) p.push(`${at}: ${name}: health check ${k} ${String(v)}: expected a count >= 0`);
  }
  if (h.port !== undefined && !isInt(h.port, 0, 65535)) p.push(`${at}: ${name}: health check port ${String(h.port)}: expected 0..65535`);
  return p;
}

function floatingProblems(f: FloatingAddress, where: string): string[] {
  const at = f.origin ?? where;
  return familyOf(f.address) === undefined ? [`${at}: floating address ${JSON.stringify(f.address)}: expected an IPv4 or IPv6 address`] : [];
}
