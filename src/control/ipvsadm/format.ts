// Every `ipvsadm -L` output byte for byte: the header with version and table size, the
// title lines and service/server lines of the default, --stats, --rate (with --exact),
// --thresholds, --persistent-conn and --tun-info tables, one service (-t/-u/-f, "No such
// service" exit 1 when absent), sorted or --nosort, the connection list (-c, with the PE
// columns under --persistent-conn), --timeout and --daemon; --json (uvs's own) gives the
// same data as JSON. Without -n ports are named from the services database and hosts stay
// numeric unless the NameService resolves them: ipvsadm's layout is the same for names and
// numbers, so the output is what ipvsadm prints on a host whose reverse DNS fails.
// Reference: ipvsadm.md 6 and 7, worked example in 9; ipvsadm 1.31 print_title,
// print_service_entry, print_largenum, print_conn, list_timeout, list_daemon.

import type { Protocol, VirtualService } from '../../config/model.js';
import { sameService } from '../../config/model.js';
import { addressText, inetAton, ip4Text } from './cparse.js';
import { endpointText, listedServers, listedServices } from './entries.js';
import { listingJson } from './json.js';
import { builtinNames } from './names.js';
import { flagsText, bitsOfFlags } from './sched-flags.js';
import type { ConnectionEntry, Count, ListCommand, ListedServer, ListedService, ListFormat, ListingData, NameService, SyncDaemon } from './types.js';

export type ListingResult = { ok: true; text: string } | { ok: false; message: string; exitCode: number };

const left = (s: string | number, width: number): string => String(s).padEnd(width);
const right = (s: string | number | bigint, width: number): string => String(s).padStart(width);

/** print_largenum: 9 columns, or K/M/G/T (powers of 1000) when large; --exact widens instead. */
export function largeNumber(value: Count, exact: boolean): string {
  const v = BigInt(value);
  if (exact) return right(v, Math.max(9, String(v).length + 1));
  if (v < 100_000_000n) return right(v, 9);
  if (v < 1_000_000_000n) return `${right(v / 1000n, 8)}K`;
  if (v < 100_000_000_000n) return `${right(v / 1_000_000n, 8)}M`;
  if (v < 100_000_000_000_000n) return `${right(v / 1_000_000_000n, 8)}G`;
  return `${right(v / 1_000_000_000_000n, 8)}T`;
}

/** "TCP  10.0.0.1:80" (IPv4 cut at 33), "FWM  5", "FWM  5 IPv6". */
function serviceLabel(s: VirtualService, numeric: boolean, names: NameService): string {
  if (s.fwmark !== 0) return `FWM  ${s.fwmark}${s.family === 6 ? ' IPv6' : ''}`;
  const label = `${left(s.protocol.toUpperCase(), 4)} ${endpointText(s.address, s.port, s.protocol, numeric, names)}`;
  return s.family === 6 ? label : label.slice(0, 33);
}

/** The netmask text when it is not the default (dotted IPv4, IPv6 prefix length). */
export function nonDefaultMask(s: VirtualService): string | undefined {
  if (s.family === 6) return s.netmask !== '128' ? s.netmask : undefined;
  const mask = inetAton(s.netmask) ?? 0xffffffff;
  return mask !== 0xffffffff ? ip4Text(mask) : undefined;
}

function serviceLine(s: VirtualService, numeric: boolean, names: NameService): string {
  let line = `${serviceLabel(s, numeric, names)} ${s.scheduler}`;
  const bits = bitsOfFlags(s.schedFlags);
  if (bits !== 0) line += ` (${flagsText(s.scheduler, bits)})`;
  if (s.persistent > 0) {
    line += ` persistent ${s.persistent}`;
    const mask = nonDefaultMask(s);
    if (mask !== undefined) line += ` mask ${mask}`;
    if (s.pe !== '') line += ` pe ${s.pe}`;
  }
  if (s.onePacket) line += ' ops';
  return line;
}

const FORWARD_NAME = { nat: 'Masq', dr: 'Route', tun: 'Tunnel' } as const;
const TUNNEL_FLAG = { nocsum: '-c', csum: '+c', remcsum: 'r+c' } as const;

function tunnelInfo(l: ListedServer): string {
  const r = l.server;
  if (r.method !== 'tun') return 'n/a';
  const flag = TUNNEL_FLAG[r.tunCsum ?? 'nocsum'];
  if (r.tunType === 'gue') return `gue:${r.tunPort ?? 0}:${flag}`;
  if (r.tunType === 'gre') return `gre:${flag}`;
  return 'ipip';
}

function title(f: ListFormat): string {
  const address = left('Prot LocalAddress:Port', 33);
  if (f.stats) return `${address} ${['Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes'].map((n) => right(n, 8)).join(' ')}\n  -> RemoteAddress:Port\n`;
  if (f.rate) return `${address} ${['CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS'].map((n) => right(n, 8)).join(' ')}\n  -> RemoteAddress:Port\n`;
  if (f.thresholds) return `${address} ${left('Uthreshold', 10)} ${left('Lthreshold', 10)} ${left('ActiveConn', 10)} ${left('InActConn', 10)}\n  -> RemoteAddress:Port\n`;
  if (f.persistentConn) return `${address} ${left('Weight', 9)} ${left('PersistConn', 11)} ${left('ActiveConn', 10)} ${left('InActConn', 10)}\n  -> RemoteAddress:Port\n`;
  if (f.tunInfo) return 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n';
  if (f.health) return 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight Health Since    Reason\n';
  return 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
}

/** How long ago, as a short age: 42s, 7m, 3h, 2d. */
function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.floor(s / 60)}m` : s < 172800 ? `${Math.floor(s / 3600)}h` : `${Math.floor(s / 86400)}d`;
}

/** --health: state (quiesced when up but held at weight 0), since, and why. */
function healthColumns(l: ListedServer, now: number): string {
  const h = l.health;
  if (!h) return `${left('-', 6)} ${left('-', 8)} not checked`;
  const state = h.state === 'up' && h.weight === 0 && h.configuredWeight > 0 ? 'drain' : h.state;
  const last = h.checks.map((c) => `${c.label || c.kind}: ${c.ok === undefined ? 'not run yet' : c.ok ? 'ok' : c.reason ?? 'failed'}`).join('; ');
  return `${left(state, 6)} ${left(age(now - h.since), 8)} ${h.reason || last}`.trimEnd();
}

function serviceEntry(entry: ListedService, f: ListFormat, names: NameService, now = Date.now()): string {
  const s = entry.service;
  const big = (v: Count): string => largeNumber(v, f.exact);
  const st = entry.stats;
  let out: string;
  if (f.stats) out = left(serviceLabel(s, f.numeric, names), 33) + [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes].map(big).join('');
  else if (f.rate) out = left(serviceLabel(s, f.numeric, names), 33) + [st.cps, st.inpps, st.outpps, st.inbps, st.outbps].map(big).join('');
  else out = serviceLine(s, f.numeric, names);
  out += '\n';
  for (const l of listedServers(entry, f.nosort)) {
    const r = l.server;
    const full = endpointText(r.address, r.port, s.protocol, f.numeric, names);
    const name = left(r.address.includes(':') ? full : full.slice(0, 28), 28);
    const rs = l.stats;
    if (f.stats) out += `  -> ${name}${[rs.conns, rs.inpkts, rs.outpkts, rs.inbytes, rs.outbytes].map(big).join('')}\n`;
    else if (f.rate) out += `  -> ${name} ${right(BigInt(rs.cps), 8)} ${right(BigInt(rs.inpps), 8)} ${right(BigInt(rs.outpps), 8)}${big(rs.inbps)}${big(rs.outbps)}\n`;
    else if (f.thresholds) out += `  -> ${name} ${left(r.upper, 10)} ${left(r.lower, 10)} ${left(l.activeConns, 10)} ${left(l.inactConns, 10)}\n`;
    else if (f.persistentConn) out += `  -> ${name} ${left(r.weight, 9)} ${left(l.persistConns, 11)} ${left(l.activeConns, 10)} ${left(l.inactConns, 10)}\n`;
    else if (f.health) out += `  -> ${name} ${left(l.local ? 'Local' : FORWARD_NAME[r.method], 7)} ${left(r.weight, 6)} ${healthColumns(l, now)}\n`;
    else {
      const forward = left(l.local ? 'Local' : FORWARD_NAME[r.method], 7);
      const tunnel = f.tunInfo ? ` ${left(tunnelInfo(l), 13)}` : '';
      out += `  -> ${name} ${forward}${tunnel} ${left(r.weight, 6)} ${left(l.activeConns, 10)} ${left(l.inactConns, 10)}\n`;
    }
  }
  return out;
}

/** "a.b.c.d:port", "[v6]:port", or "FWM <mark>" (a fwmark template: the mark as an IPv4 address, port 0). */
function parseEndpoint(text: string): { address: string; port: number } {
  const fwm = /^FWM (\d+)$/.exec(text);
  if (fwm) return { address: ip4Text(Number(fwm[1]) >>> 0), port: 0 };
  const colon = text.lastIndexOf(':');
  const host = colon < 0 ? text : text.slice(0, colon);
  const port = colon < 0 ? 0 : Number(text.slice(colon + 1)) || 0;
  return { address: host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host, port };
}

const CONNECTION_PROTOCOL: Record<string, Protocol> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

function connectionList(entries: readonly ConnectionEntry[], f: ListFormat, names: NameService): string {
  let out = 'IPVS connection entries\n';
  out += f.persistentConn
    ? `pro expire ${left('state', 11)} ${left('source', 18)} ${left('virtual', 18)} ${left('destination', 18)} ${left('pe name', 16)} pe_data\n`
    : `pro expire ${left('state', 11)} ${left('source', 18)} ${left('virtual', 18)} destination\n`;
  for (const c of entries) {
    const protocol = CONNECTION_PROTOCOL[c.protocol] ?? null;
    const named = (text: string): string => {
      const e = parseEndpoint(text);
      return endpointText(e.address, e.port, protocol, f.numeric, names);
    };
    const seconds = Math.floor(Math.max(0, c.expiresInMs) / 1000);
    const expire = `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
    const head = `${left(c.protocol, 3)} ${left(expire, 6)} ${left(c.state, 11)} ${left(named(c.client), 18)} ${left(named(c.virtual), 18)}`;
    if (f.persistentConn && c.peName !== undefined && c.peData !== undefined) out += `${head} ${left(named(c.real), 16)} ${left(c.peName, 18)} ${c.peData}\n`;
    else out += `${head} ${named(c.real)}\n`;
  }
  return out;
}

function daemonLine(d: SyncDaemon): string {
  let line = `${d.state} sync daemon (mcast=${d.mcastInterface}, syncid=${d.syncid}`;
  if (d.maxlen) line += `, maxlen=${d.maxlen}`;
  if (d.group) line += `, group=${addressText(d.group)}`;
  if (d.port) line += `, port=${d.port}`;
  if (d.ttl) line += `, ttl=${d.ttl}`;
  return `${line})\n`;
}

/** The output of an `ipvsadm -L`/`-l` command line against the given data. */
export function formatListing(command: ListCommand, data: ListingData, names: NameService = builtinNames): ListingResult {
  const f = command.format;
  let one: ListedService | undefined;
  if (command.view === 'service') {
    one = data.services.find((s) => sameService(s.service, command.service!));
    if (!one) return { ok: false, message: 'No such service', exitCode: 1 };
  }
  if (f.json) return { ok: true, text: listingJson(command, data, one) };
  switch (command.view) {
    case 'connections':
      return { ok: true, text: connectionList(data.connections, f, names) };
    case 'timeout':
      return { ok: true, text: `Timeout (tcp tcpfin udp): ${data.timeouts.tcp} ${data.timeouts.tcpfin} ${data.timeouts.udp}\n` };
    case 'daemon':
      return { ok: true, text: data.daemons.map(daemonLine).join('') };
    case 'service':
      return { ok: true, text: title(f) + serviceEntry(one!, f, names) };
    case 'all': {
      const header = `IP Virtual Server version ${data.version} (size=${data.tableSize})\n`;
      return { ok: true, text: header + title(f) + listedServices(data, f.nosort).map((s) => serviceEntry(s, f, names)).join('') };
    }
  }
}
