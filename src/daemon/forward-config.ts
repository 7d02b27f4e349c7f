// From the config model (src/config/model.ts) to what the datapath takes: the forward
// config that snapshotOf() and isolationRulesOf() (src/datapath/config.ts) already turn
// into a service-table snapshot and the kernel-isolation rules, so uvsd and `uvs forward`
// share one path from configuration to packets. IPv6 services stay in the model (ipvsadm
// accepts them) but the datapath balances IPv4 only: they are left out and reported.

import { DEFAULT_SYSCTL, type DatapathSysctl } from '../datapath/snapshot.js';
import { schedFlagBits, type ForwardConfig, type ForwardService } from '../datapath/config.js';
import type { MarkRule } from '../tables/fwmark.js';
import type { ServiceTable, VirtualService } from '../config/model.js';

export interface DatapathSettings {
  interfaces: string[];
  workers?: number;
  connections?: number;
  markRules: MarkRule[];
  /** Floating addresses to own besides the config's (uvsd --owned, e.g. the NAT gateway). */
  owned?: string[];
  sysctl?: Partial<DatapathSysctl>;
}

export interface Conversion {
  config: ForwardConfig;
  /** Services the datapath cannot balance (IPv6, SCTP), by name. */
  skipped: string[];
}

function forwardService(s: VirtualService): ForwardService {
  return {
    protocol: s.protocol === 'udp' ? 'udp' : 'tcp',
    address: s.fwmark !== 0 ? '0.0.0.0' : s.address,
    port: s.port,
    fwmark: s.fwmark,
    scheduler: s.scheduler,
    schedFlags: schedFlagBits(s.schedFlags),
    persistent: s.persistent,
    netmask: s.persistent > 0 ? s.netmask : '255.255.255.255',
    servers: s.servers.map((d) => ({ address: d.address, port: d.port, weight: d.weight, method: d.method, upper: d.upper, lower: d.lower })),
  };
}

export function forwardConfigOf(table: ServiceTable, settings: DatapathSettings): Conversion {
  const skipped: string[] = [];
  const services: ForwardService[] = [];
  for (const s of table.services) {
    if (s.family === 6 || s.protocol === 'sctp' || s.servers.some((d) => d.address.includes(':'))) {
      skipped.push(s.fwmark !== 0 ? `FWM ${s.fwmark}` : `${s.protocol} ${s.address}:${s.port}`);
      continue;
    }
    services.push(forwardService(s));
  }
  const config: ForwardConfig = {
    // The dialects name where VIPs live (lvs.cf `address = VIP eth0:1`), not every interface
    // the datapath needs (the servers' side too): uvsd's own setting decides.
    interfaces: settings.interfaces,
    ...(settings.workers ? { workers: settings.workers } : {}),
    ...(settings.connections ? { connections: settings.connections } : {}),
    owned: [...new Set([...table.director.owned, ...(settings.owned ?? [])])].filter((a) => !a.includes(':')),
    services,
    markRules: settings.markRules,
    timeouts: { ...table.timeouts },
    sysctl: { ...DEFAULT_SYSCTL, ...settings.sysctl },
  };
  return { config, skipped };
}
