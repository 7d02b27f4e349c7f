// The data of uvsadm's pure front end (an ipvsadm 1.31 drop-in): what parsing an argv
// yields (a Command, or an error to print exactly), what applying a command yields, and the
// input a listing needs (ListingData). Reference: shared/reference/ipvsadm.md (sections 2-9),
// ipvsadm 1.31 ipvsadm.c (struct ipvs_command_entry) and libipvs (ipvs_service_entry,
// ipvs_dest_entry, ipvs_daemon_t), connections.md section 13 for counters and rates.

import type { Family, Method, Protocol, RealServer, ServiceTable, Timeouts, VirtualService } from '../../config/model.js';

/** The command names ipvsadm uses in its messages (cmdnames[]), in its order. */
export const COMMAND_NAMES = [
  'add-service', 'edit-service', 'delete-service', 'flush', 'list', 'add-server', 'delete-server',
  'edit-server', 'set', 'start-daemon', 'stop-daemon', 'restore', 'save', 'zero',
] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

/** How a virtual service is named on the command line: the model's identity fields. */
export type ServiceAddress = Pick<VirtualService, 'protocol' | 'address' | 'port' | 'fwmark' | 'family'>;

/** -s -p -M --pe -b -o as given (unspecified ones at their defaults: -E resets them). */
export type ServiceOptions = Pick<VirtualService, 'scheduler' | 'persistent' | 'netmask' | 'schedFlags' | 'onePacket' | 'pe'>;

/** -r and the real-server options (unspecified ones at their defaults: -e resets them). */
export interface ServerSpec {
  address: string;
  /** Already forced to the service port for -g/-i on non-fwmark services, as ipvsadm does. */
  port: number;
  family: Family;
  method: Method;
  weight: number;
  upper: number;
  lower: number;
  /** Only for method 'tun': type (default ipip), gue port, checksum mode (gue/gre; default nocsum). */
  tunType?: 'ipip' | 'gue' | 'gre';
  tunPort?: number;
  tunCsum?: 'nocsum' | 'csum' | 'remcsum';
}

/** Which table -L prints (precedence as print_title: stats > rate > thresholds > persistent-conn > tun-info). */
export interface ListFormat {
  numeric: boolean;
  stats: boolean;
  rate: boolean;
  thresholds: boolean;
  persistentConn: boolean;
  tunInfo: boolean;
  exact: boolean;
  nosort: boolean;
  /** uvs extension (--json): the same data as JSON. */
  json: boolean;
  /** uvs extension (--health): each real server's health state, since when, and why. */
  health: boolean;
}

export type ListView = 'all' | 'service' | 'connections' | 'timeout' | 'daemon';

export interface SyncDaemonSpec {
  state: 'master' | 'backup';
  /** --mcast-interface (default eth0, at most 15 characters as ipvsadm copies it). */
  mcastInterface: string;
  syncid: number;
  /** 0 = not given (the kernel picks its default). */
  maxlen: number;
  /** '' = not given. */
  group: string;
  port: number;
  ttl: number;
}

export type Command =
  | { kind: 'add-service' | 'edit-service'; service: ServiceAddress; options: ServiceOptions }
  | { kind: 'delete-service'; service: ServiceAddress }
  | { kind: 'add-server' | 'edit-server'; service: ServiceAddress; server: ServerSpec }
  | { kind: 'delete-server'; service: ServiceAddress; server: Pick<ServerSpec, 'address' | 'port' | 'family'> }
  | { kind: 'flush' }
  | { kind: 'restore' }
  | { kind: 'save'; numeric: boolean }
  | { kind: 'list'; view: ListView; service?: ServiceAddress; format: ListFormat }
  /** service absent: every counter (also for `-Z -t 0.0.0.0:0`, which libipvs sends as "all"). */
  | { kind: 'zero'; service?: ServiceAddress }
  /** Seconds; 0 = leave unchanged. */
  | { kind: 'set'; timeouts: Timeouts }
  | { kind: 'start-daemon'; daemon: SyncDaemonSpec }
  | { kind: 'stop-daemon'; state: 'master' | 'backup'; syncid: number }
  | { kind: 'help' }
  | { kind: 'version' };

export type ListCommand = Extract<Command, { kind: 'list' }>;

/** An error ipvsadm itself reports: print `message + "\n"` to stderr, exit with exitCode. */
export interface ParseFailure {
  ok: false;
  message: string;
  exitCode: number;
  /** ipvsadm exit()s on it (usage errors, try-help), which ends a -R run; popt errors found
   * after the command option only fail the current -R line. */
  stopsRestore: boolean;
  /** The argv words the error is about, when one option value is at fault (for file:line messages). */
  argument?: string;
}
export type ParseResult = { ok: true; command: Command } | ParseFailure;

/** A rejection by "the kernel" (our model): printed as one line on stderr, exit 255. */
export interface ApplyFailure {
  ok: false;
  message: string;
  exitCode: 255;
  /** The errno the kernel would have returned (ESRCH, EEXIST, ENOENT, ERANGE, EINVAL). */
  errno: string;
}
export type ApplyResult = { ok: true; table: ServiceTable } | ApplyFailure;

/** A 64-bit counter: number while it is a safe integer, bigint beyond. */
export type Count = number | bigint;

/** Counters and rates of a service or real server (ip_vs_stats64 as libipvs reports it). */
export interface Stats {
  conns: Count;
  inpkts: Count;
  outpkts: Count;
  inbytes: Count;
  outbytes: Count;
  cps: Count;
  inpps: Count;
  outpps: Count;
  inbps: Count;
  outbps: Count;
}

export interface ListedServer {
  server: RealServer;
  stats: Stats;
  activeConns: number;
  inactConns: number;
  /** Persistence templates pointing at the server. */
  persistConns: number;
  /** The kernel turns a real server that is a local address into "Local"; the datapath says so here. */
  local?: boolean;
  /** Health-check status (uvs): absent when the server is not checked. */
  health?: ServerHealthStatus;
}

/** A checked real server's health, as uvsd's monitor reports it (src/health/monitor.ts). */
export interface ServerHealthStatus {
  state: 'up' | 'down';
  /** When it entered that state (ms since the epoch). */
  since: number;
  /** Why it is down (or the last failure); '' when all is well. */
  reason: string;
  /** The weight health lets it run at (dynamic weights), and the configured one. */
  weight: number;
  configuredWeight: number;
  checks: { kind: string; label: string; ok?: boolean; reason?: string; at?: number; ms?: number }[];
}

export interface ListedService {
  service: VirtualService;
  stats: Stats;
  /** In IPVS list order (newest first), which --nosort shows. */
  servers: ListedServer[];
}

/** One entry of `-L -c` (src/tables/listing.ts ConnectionRow has this shape). */
export interface ConnectionEntry {
  /** 'TCP', 'UDP', 'SCTP', or 'IP' for fwmark templates. */
  protocol: string;
  /** 'a.b.c.d:port' or '[v6]:port'. */
  client: string;
  /** Same form, or 'FWM <mark>' for a fwmark template (listed as 0.0.0.<mark>:0, as the kernel does). */
  virtual: string;
  real: string;
  state: string;
  expiresInMs: number;
  template: boolean;
  /** Persistence-engine name and data (shown with --persistent-conn when both are present). */
  peName?: string;
  peData?: string;
}

/** A running sync daemon as the kernel reports it (-L --daemon). */
export interface SyncDaemon {
  state: 'master' | 'backup';
  mcastInterface: string;
  syncid: number;
  maxlen: number;
  group: string;
  port: number;
  ttl: number;
}

/** Everything a listing prints. Services in their kernel order (--nosort keeps it). */
export interface ListingData {
  /** Kernel IPVS version shown in the header; '1.2.1' everywhere since 2.6. */
  version: string;
  /** Connection hash-table size shown as size=N. */
  tableSize: number;
  services: ListedService[];
  connections: ConnectionEntry[];
  /** Effective timeouts in seconds (not 0 = default: listingDataOf resolves that). */
  timeouts: Timeouts;
  daemons: SyncDaemon[];
}

/** What uvsadm needs to turn a port or host name into a number and back; pure (no DNS). */
export interface NameService {
  /** getservbyname(name, proto) */
  portOf(name: string, protocol: Protocol): number | undefined;
  /** getservbyport(port, proto): the official name. */
  nameOfPort(port: number, protocol: Protocol): string | undefined;
  /** gethostbyname for non-literal hosts (IPv4 only, like ipvsadm); absent = unresolvable. */
  hostAddress?(name: string): string | undefined;
  /** Reverse lookup for listings without -n; absent = numeric. */
  hostName?(address: string): string | undefined;
}
