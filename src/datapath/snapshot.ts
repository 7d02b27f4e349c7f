// The service table as the datapath workers see it: an immutable, structured-clonable
// snapshot with a generation number. The control thread builds one from its config model
// and publishes it; each worker compiles it into typed lookup structures (engine.ts)
// between batches, so traffic never stops for a change. Real servers carry a stats slot
// that stays theirs across generations, so counters and connection entries survive.

import type { MarkRule } from '../tables/fwmark.js';

export const METHOD_NAT = 0;
export const METHOD_TUN = 2;
export const METHOD_DR = 3;

export type MethodName = 'nat' | 'dr' | 'tun';
export const METHOD_BY_NAME: Record<MethodName, number> = { nat: METHOD_NAT, dr: METHOD_DR, tun: METHOD_TUN };

export interface DestSnapshot {
  /** Real server IPv4 address (uint32) and port. */
  address: number;
  port: number;
  weight: number;
  /** METHOD_NAT / METHOD_DR / METHOD_TUN (IPVS conn flag values). */
  method: number;
  /** Stats slot (index into the shared counters), stable for this real server. */
  slot: number;
  /** Connection thresholds (-x upper, -y lower); 0 = none. */
  upper?: number;
  lower?: number;
}

export interface ServiceSnapshot {
  /** 6 TCP / 17 UDP (address services; 0 for a firewall-mark service). */
  protocol: number;
  /** Virtual address (uint32) and port; port 0 = every port (persistent services only). */
  address: number;
  port: number;
  /** Firewall mark (-f); 0 for an address service. */
  fwmark?: number;
  scheduler: string;
  /** Scheduler flags (SCHED_F_*: sh-fallback/mh-fallback, sh-port/mh-port). */
  schedFlags?: number;
  /** Persistence (-p timeout, -M netmask as uint32); absent = not persistent. */
  persistence?: { timeout: number; netmask: number };
  /** Real servers in IPVS list order (newest first). */
  dests: DestSnapshot[];
}

export interface DatapathSnapshot {
  generation: number;
  services: ServiceSnapshot[];
  /** Floating IPv4 addresses uvs answers ARP for (the VIPs and the NAT-router addresses). */
  owned: number[];
  /** IPv4 routes (output port by position in the datapath's interface list). */
  routes: { net: number; len: number; port: number; gateway: number }[];
  /** Timeouts in seconds by state (tcp-states.ts order); absent = defaults. */
  timeouts?: number[];
  /** IPVS sysctls that change the datapath's behaviour (absent = IPVS defaults). */
  sysctl?: DatapathSysctl;
  /** Firewall-mark classifier rules, as parsed (fwmark.ts). */
  markRules?: readonly MarkRule[];
}

/** The /proc/sys/net/ipv4/vs knobs uvs honours (connections.md §6, §7, §12). */
export interface DatapathSysctl {
  /** 1: packets of a connection whose real server is gone (or quiesced, for a new SYN) expire it and are scheduled anew. Default 0. */
  expireNodestConn: number;
  /** 1: a persistence template whose real server is quiesced (weight 0) is not used. Default 0. */
  expireQuiescentTemplate: number;
  /** Bitmap: 1 reschedules a SYN that hits a TIME_WAIT/CLOSE entry; 2 also FIN_WAIT entries of DR/TUN. Default 1. */
  connReuseMode: number;
  /** 1: any non-RST TCP segment may create a connection. Default 0. */
  sloppyTcp: number;
  /** drop_entry defense: 0 off, 1 automatic (when the table is nearly full), 3 always. Default 0. */
  dropEntry: number;
  /** Seconds an unused lblc / lblcr entry is kept. Default 86400. */
  lblcExpiration: number;
  lblcrExpiration: number;
}

export const DEFAULT_SYSCTL: DatapathSysctl = { expireNodestConn: 0, expireQuiescentTemplate: 0, connReuseMode: 1, sloppyTcp: 0, dropEntry: 0, lblcExpiration: 86400, lblcrExpiration: 86400 };
