// `uvsadm -L --json`, uvs's own addition: what the -L views print, as JSON for programs.
// Addresses and ports are always numeric; counters are JSON numbers while they are safe
// integers and decimal strings beyond; the service/server order follows --nosort as the
// text listing does. Shapes:
//   all / one service: { version, size, services: [ { protocol, address, port, fwmark,
//     family, scheduler, flags, persistent, netmask, pe, ops, stats, rate,
//     servers: [ { address, port, forward, weight, upperThreshold, lowerThreshold,
//     activeConns, inactConns, persistConns, tunnel, stats, rate } ] } ] }
//   servers carry `health` (state, since, reason, weight, configuredWeight, checks[] with
//     each check's last result, time and reason) when uvsd checks them.
//   -c: { connections: [ { protocol, expires, state, source, virtual, destination, peName?, peData? } ] }
//   --timeout: { timeouts: { tcp, tcpfin, udp } }      --daemon: { daemons: [ SyncDaemon ] }

import type { Count, ListCommand, ListedServer, ListedService, ListingData, Stats } from './types.js';
import { listedServers, listedServices } from './entries.js';

const count = (v: Count): number | string => (typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : String(v)) : v);

function counters(s: Stats): { stats: Record<string, number | string>; rate: Record<string, number | string> } {
  return {
    stats: { conns: count(s.conns), inpkts: count(s.inpkts), outpkts: count(s.outpkts), inbytes: count(s.inbytes), outbytes: count(s.outbytes) },
    rate: { cps: count(s.cps), inpps: count(s.inpps), outpps: count(s.outpps), inbps: count(s.inbps), outbps: count(s.outbps) },
  };
}

const FORWARD = { nat: 'Masq', dr: 'Route', tun: 'Tunnel' } as const;

function serverJson(l: ListedServer): Record<string, unknown> {
  const r = l.server;
  const tunnel = r.method === 'tun' ? { type: r.tunType ?? 'ipip', ...(r.tunType === 'gue' ? { port: r.tunPort ?? 0 } : {}), ...(r.tunType === 'gue' || r.tunType === 'gre' ? { csum: r.tunCsum ?? 'nocsum' } : {}) } : null;
  return {
    address: r.address, port: r.port, forward: l.local ? 'Local' : FORWARD[r.method], weight: r.weight,
    upperThreshold: r.upper, lowerThreshold: r.lower, activeConns: l.activeConns, inactConns: l.inactConns,
    persistConns: l.persistConns, tunnel, ...counters(l.stats), ...(l.health ? { health: l.health } : {}),
  };
}

function serviceJson(e: ListedService, nosort: boolean): Record<string, unknown> {
  const s = e.service;
  return {
    protocol: s.protocol, address: s.address, port: s.port, fwmark: s.fwmark, family: s.family, scheduler: s.scheduler,
    flags: s.schedFlags, persistent: s.persistent, netmask: s.netmask, pe: s.pe, ops: s.onePacket, ...counters(e.stats),
    servers: listedServers(e, nosort).map(serverJson),
  };
}

export function listingJson(command: ListCommand, data: ListingData, one?: ListedService): string {
  const f = command.format;
  let value: unknown;
  switch (command.view) {
    case 'connections':
      value = {
        connections: data.connections.map((c) => ({
          protocol: c.protocol, expires: Math.floor(Math.max(0, c.expiresInMs) / 1000), state: c.state, source: c.client, virtual: c.virtual,
          destination: c.real, template: c.template, ...(c.peName !== undefined ? { peName: c.peName, peData: c.peData ?? '' } : {}),
        })),
      };
      break;
    case 'timeout':
      value = { timeouts: data.timeouts };
      break;
    case 'daemon':
      value = { daemons: data.daemons };
      break;
    default: {
      const services = one ? [one] : listedServices(data, f.nosort);
      value = { version: data.version, size: data.tableSize, services: services.map((s) => serviceJson(s, f.nosort)) };
    }
  }
  return `${JSON.stringify(value, null, 2)}\n`;
}
