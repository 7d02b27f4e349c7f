// What listings and -S share: ipvsadm's sort orders (services by fwmark, family, protocol,
// address, port; real servers by address, port; plain unsigned comparisons, not ipvsadm's
// signed-subtraction quirk), and how an address and port are printed (addrport_to_anyname:
// numeric, or through the NameService, bracketing IPv6, cut at 59 characters as ipvsadm's
// buffer does). Reference: ipvsadm.md 6.4, 6.5.

import type { Protocol, RealServer, VirtualService } from '../../config/model.js';
import { addressBytes, addressText } from './cparse.js';
import type { ListedServer, ListedService, ListingData, NameService } from './types.js';

const PROTOCOL_NUMBER: Record<Protocol, number> = { tcp: 6, udp: 17, sctp: 132 };

function compareBytes(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function compareServices(a: VirtualService, b: VirtualService): number {
  return (
    a.fwmark - b.fwmark ||
    a.family - b.family ||
    PROTOCOL_NUMBER[a.protocol] - PROTOCOL_NUMBER[b.protocol] ||
    (a.fwmark === 0 ? compareBytes(addressBytes(a.address).bytes, addressBytes(b.address).bytes) : 0) ||
    a.port - b.port
  );
}

export function compareServers(a: RealServer, b: RealServer): number {
  return compareBytes(addressBytes(a.address).bytes, addressBytes(b.address).bytes) || a.port - b.port;
}

/** "addr:port" as ipvsadm prints it: [v6]:port; names for port (and host) unless numeric. */
export function endpointText(address: string, port: number, protocol: Protocol | null, numeric: boolean, names: NameService): string {
  const v6 = address.includes(':');
  const host = (!numeric && names.hostName?.(address)) || addressText(address);
  const portName = (!numeric && protocol !== null && names.nameOfPort(port, protocol)) || String(port);
  return `${v6 ? '[' : ''}${host}${v6 ? ']' : ''}:${portName}`.slice(0, 59);
}

/** The forwarding-method switch -S prints. */
export const METHOD_SWITCH = { nat: '-m', dr: '-g', tun: '-i' } as const;

/** Services in listing order (sorted unless --nosort). */
export function listedServices(data: ListingData, nosort: boolean): ListedService[] {
  return nosort ? data.services : [...data.services].sort((a, b) => compareServices(a.service, b.service));
}

/** A service's real servers in listing order (sorted unless --nosort, else IPVS list order). */
export function listedServers(entry: ListedService, nosort: boolean): ListedServer[] {
  return nosort ? entry.servers : [...entry.servers].sort((a, b) => compareServers(a.server, b.server));
}
