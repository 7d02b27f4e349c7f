// The service table as the datapath workers see it: an immutable, structured-clonable
// snapshot with a generation number. The control thread builds one from its config model
// and publishes it; each worker compiles it into typed lookup structures (engine.ts)
// between batches, so traffic never stops for a change. Real servers carry a stats slot
// that stays theirs across generations, so counters and connection entries survive.

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
}

export interface ServiceSnapshot {
  /** 6 TCP / 17 UDP. */
  protocol: number;
  /** Virtual address (uint32) and port. */
  address: number;
  port: number;
  scheduler: string;
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
}
