// ListingData from a configuration model: zero counters, servers in IPVS list order
// (newest first, as the kernel inserts at the head), effective timeouts (0 = the kernel
// default: tcp 900, tcpfin 120, udp 300), the default table size. The daemon overlays its
// live counters, connections and sync daemons. Reference: ipvsadm.md 4 (defaults), 6.5.

import type { ServiceTable, Timeouts } from '../../config/model.js';
import type { ListingData, Stats } from './types.js';

export const DEFAULT_TIMEOUTS: Timeouts = { tcp: 900, tcpfin: 120, udp: 300 };
export const IPVS_VERSION = '1.2.1';
export const DEFAULT_TABLE_SIZE = 4096;

export function zeroStats(): Stats {
  return { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0, cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 };
}

/** The timeouts a listing shows for the model's (0 = default). */
export function effectiveTimeouts(t: Timeouts): Timeouts {
  return { tcp: t.tcp || DEFAULT_TIMEOUTS.tcp, tcpfin: t.tcpfin || DEFAULT_TIMEOUTS.tcpfin, udp: t.udp || DEFAULT_TIMEOUTS.udp };
}

export function listingDataOf(table: ServiceTable, extra: Partial<Omit<ListingData, 'services'>> = {}): ListingData {
  return {
    version: IPVS_VERSION,
    tableSize: DEFAULT_TABLE_SIZE,
    connections: [],
    daemons: [],
    timeouts: effectiveTimeouts(table.timeouts),
    ...extra,
    services: table.services.map((service) => ({
      service,
      stats: zeroStats(),
      servers: [...service.servers].reverse().map((server) => ({ server, stats: zeroStats(), activeConns: 0, inactConns: 0, persistConns: 0 })),
    })),
  };
}
