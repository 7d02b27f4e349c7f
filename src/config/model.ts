// The one typed model of a director's configuration: what ipvsadm rules, Piranha's lvs.cf
// and keepalived.conf all describe, so every loader produces it, every saver reads it, and
// uvsd turns it into datapath snapshots. Plain data (structured-clonable, JSON-able);
// addresses are canonical text (ipaddr.js), so models compare with a deep equality.
//
// Virtual services are identified by (protocol, address, port) or (fwmark, family). Real
// servers are kept in the order they were added (oldest first); IPVS lists them newest
// first, which the datapath and `ipvsadm -L --nosort` derive from this order.

export type Protocol = 'tcp' | 'udp' | 'sctp';
export type Method = 'nat' | 'dr' | 'tun';
export type Family = 4 | 6;

export interface RealServer {
  address: string;
  /** 0 for fwmark services: the packet's own destination port. */
  port: number;
  method: Method;
  /** 0..65535; 0 = quiesced. */
  weight: number;
  /** Connection thresholds (-x / -y); 0 = none. */
  upper: number;
  lower: number;
  /** Tunnel options (-i): type ipip (default), gue or gre; gue port; checksum mode. */
  tunType?: 'ipip' | 'gue' | 'gre';
  tunPort?: number;
  tunCsum?: 'nocsum' | 'csum' | 'remcsum';
  /** Health-check and failover settings a dialect gave for this server (acted on by the health issue). */
  health?: HealthCheck;
  /** Further checks (keepalived: several checkers, or several HTTP_GET urls): the server is alive only while all pass. */
  additionalHealth?: HealthCheck[];
  /** Quiesce instead of removing this server when it fails, overriding the service's (keepalived real_server inhibit_on_failure). */
  quiesce?: boolean;
  /** Name given by the dialect (lvs.cf `server NAME`), for logs. */
  name?: string;
  /** Where it was defined (file:line), for error messages and logs. */
  origin?: string;
}

export interface VirtualService {
  /** Address service: protocol + address + port. fwmark service: fwmark > 0 (protocol tcp, address ''). */
  protocol: Protocol;
  address: string;
  port: number;
  fwmark: number;
  family: Family;
  /** Scheduler name, default 'wlc'. */
  scheduler: string;
  /** Persistence timeout in seconds; 0 = not persistent. */
  persistent: number;
  /** Persistence netmask: dotted IPv4 mask, or the IPv6 prefix length as a string. */
  netmask: string;
  /** Scheduler flags as named with -b (flag-1..3, sh-fallback, sh-port, mh-fallback, mh-port). */
  schedFlags: string[];
  /** One-packet scheduling (-o). */
  onePacket: boolean;
  /** Persistence engine (--pe), '' for none. */
  pe: string;
  servers: RealServer[];
  /** Health check for the service's servers (lvs.cf/keepalived), if a dialect gave one. */
  health?: HealthCheck;
  /** Server used when every real server is down (lvs.cf sorry server, keepalived sorry_server). */
  sorryServer?: { address: string; port: number };
  /** Quiesce instead of removing failed servers (lvs.cf quiesce_server, keepalived inhibit_on_failure). */
  quiesce?: boolean;
  /** Name given by the dialect (lvs.cf `virtual NAME`, keepalived group), for logs. */
  name?: string;
  /** The floating address brought up for this service (lvs.cf `address = VIP DEV`, `vip_nmask`); for fwmark services the only place the VIP is named. */
  vip?: FloatingAddress;
  origin?: string;
}

/** How a real server is checked (stored now; the health issue runs it). */
export interface HealthCheck {
  kind: 'tcp' | 'send-expect' | 'http' | 'https' | 'external' | 'icmp' | 'none';
  /** Interval between checks and per-check timeout, seconds. */
  interval?: number;
  timeout?: number;
  /** send/expect strings (lvs.cf `send`/`expect`), HTTP path and expected status/digest. */
  send?: string;
  expect?: string;
  path?: string;
  status?: number;
  digest?: string;
  /** External program (lvs.cf send_program, keepalived MISC_CHECK misc_path). */
  program?: string;
  /** Port to check if not the server's. */
  port?: number;
  /** Failures before down / successes before up. */
  retries?: number;
  riseCount?: number;
  /** `expect` is a regular expression (lvs.cf use_regex: POSIX ERE; keepalived url regex: PCRE). */
  regex?: boolean;
  /** The dialect's own name of the checker (keepalived TCP_CHECK, HTTP_GET, SMTP_CHECK, DNS_CHECK, ...), where `kind` approximates it. */
  checker?: string;
  /** Anything else the dialect said about checking, key -> raw value (kept, not interpreted). */
  extra?: Record<string, string>;
}

/** Director-level settings: addresses to own, failover, sync (stored now; HA issue acts on them). */
export interface DirectorSettings {
  /** Floating addresses uvs answers ARP for besides the VIPs (lvs.cf nat_router, keepalived virtual_ipaddress). */
  owned: string[];
  /** Datapath interfaces, if the dialect names them (else uvsd uses every non-loopback interface). */
  interfaces?: string[];
  /** Failover / heartbeat / sync settings, key -> raw value, as the dialect wrote them. */
  ha?: Record<string, string>;
  /** Every address the active director brings up (lvs.cf VIPs and nat_router, keepalived virtual_ipaddress), in order. */
  floating?: FloatingAddress[];
}

/** A floating address and where it lives (stored now; the HA issue brings it up and announces it). */
export interface FloatingAddress {
  address: string;
  /** Dotted IPv4 mask or IPv6 prefix length as a string (lvs.cf vip_nmask/nat_nmask, keepalived IP/len). */
  netmask?: string;
  /** The interface (lvs.cf `eth0` of `eth0:1`, keepalived `dev`, else the vrrp_instance interface). */
  device?: string;
  /** Alias label (lvs.cf `eth0:1`, keepalived `label`). */
  label?: string;
  /** keepalived vrrp_instance owning it. */
  instance?: string;
  origin?: string;
}

export interface Timeouts {
  /** Seconds; 0 = the default (ipvsadm --set semantics). */
  tcp: number;
  tcpfin: number;
  udp: number;
}

export interface ServiceTable {
  services: VirtualService[];
  timeouts: Timeouts;
  director: DirectorSettings;
}

export const DEFAULT_SCHEDULER = 'wlc';
/** ipvsadm's -p without a value (IPVS_SVC_PERSISTENT_TIMEOUT). */
export const DEFAULT_PERSISTENT_TIMEOUT = 360;

export function emptyTable(): ServiceTable {
  return { services: [], timeouts: { tcp: 0, tcpfin: 0, udp: 0 }, director: { owned: [] } };
}

/** A new service with ipvsadm's defaults. */
export function newService(identity: Pick<VirtualService, 'protocol' | 'address' | 'port' | 'fwmark' | 'family'>): VirtualService {
  return {
    ...identity,
    scheduler: DEFAULT_SCHEDULER,
    persistent: 0,
    netmask: identity.family === 6 ? '128' : '255.255.255.255',
    schedFlags: [],
    onePacket: false,
    pe: '',
    servers: [],
  };
}

/** A new real server with ipvsadm's defaults (weight 1, direct routing). */
export function newServer(address: string, port: number): RealServer {
  return { address, port, method: 'dr', weight: 1, upper: 0, lower: 0 };
}

/** "TCP 10.0.0.1:80", "FWM 1": how a service is named in logs and errors. */
export function serviceKey(s: Pick<VirtualService, 'protocol' | 'address' | 'port' | 'fwmark' | 'family'>): string {
  if (s.fwmark !== 0) return `FWM ${s.fwmark}${s.family === 6 ? ' IPv6' : ''}`;
  const host = s.family === 6 ? `[${s.address}]` : s.address;
  return `${s.protocol.toUpperCase()} ${host}:${s.port}`;
}

export function sameService(a: VirtualService, b: Pick<VirtualService, 'protocol' | 'address' | 'port' | 'fwmark' | 'family'>): boolean {
  return a.fwmark !== 0 || b.fwmark !== 0 ? a.fwmark === b.fwmark && a.family === b.family : a.protocol === b.protocol && a.address === b.address && a.port === b.port;
}

export function sameServer(a: RealServer, b: Pick<RealServer, 'address' | 'port'>): boolean {
  return a.address === b.address && a.port === b.port;
}
