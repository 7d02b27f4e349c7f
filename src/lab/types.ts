// Types shared by the lab builder, its state file, the CLI and the tests.
//
// A LabDescription is plain data (JSON-serialisable): it is written to the state file
// (/run/uvs/lab-<prefix>.json) so another process (`uvs lab status`, a benchmark, the demo)
// can find every namespace, interface, MAC and address without the Lab object.

/**
 * How the real servers and the client route, i.e. which forwarding method the lab is wired for:
 * - 'nat': servers' default gateway is the floating NAT-router address (owned by the active
 *   director); the client's default route is the switch router.
 * - 'dr' / 'tun': servers answer the client directly: their default gateway is the switch
 *   router (198.19.0.1); the VIP is on their lo with arp_ignore=1/arp_announce=2.
 * - 'routed': for a plain L3 forwarder on dir1: the client routes 198.19.0.0/24 via dir1
 *   (198.18.0.2), servers' default gateway is dir1 (198.19.0.2).
 */
export type LabMode = 'nat' | 'dr' | 'tun' | 'routed';
export const LAB_MODES: readonly LabMode[] = ['nat', 'dr', 'tun', 'routed'];

export interface LabOptions {
  /** Namespace-name prefix: namespaces are `<prefix>-sw`, `<prefix>-client`, ... Default 'uvs'. */
  prefix?: string;
  /** Number of real servers (1..64). Default 3. */
  servers?: number;
  /** Number of client addresses on the client's eth0 (198.18.0.10, .11, ...; 1..80). Default 1. */
  clients?: number;
  /** Routing mode. Default 'nat'. */
  mode?: LabMode;
  /** The IPv4 VIP (must be in 198.18.0.0/24). Default 198.18.0.100. */
  vip?: string;
  /** The IPv6 VIP (must be in fd00:18::/64). Default fd00:18::100. */
  vip6?: string;
  /** The floating NAT-router (servers' gateway in 'nat' mode), in 198.19.0.0/24. Default 198.19.0.254. */
  natRouter?: string;
  /** Same for IPv6, in fd00:19::/64. Default fd00:19::254. */
  natRouter6?: string;
  /** Put the VIPs on the real servers' lo (ARP-silenced). Default: true in 'dr' and 'tun' modes. */
  vipOnLo?: boolean;
  /** Start the real-server program in every rs namespace. Default true. */
  startServers?: boolean;
  /** Leave veth offloads (checksum, TSO/GSO/GRO) on. Default true; false turns them off with ethtool. */
  offloads?: boolean;
  /**
   * true (CLI): the lab outlives this process: no exit handlers, a later `labDown` removes it.
   * false (default, tests/demo/benches): torn down on exit, SIGINT, SIGTERM or an uncaught exception.
   */
  persistent?: boolean;
  /**
   * What to do when a state file or namespaces of this prefix already exist and their owner is
   * alive (or the lab is persistent): false (default) throws UVS_LAB_EXISTS, true tears it down first.
   * Leftovers of a crashed owner are always cleaned up.
   */
  replace?: boolean;
  /** Keep the log directory (/run/uvs/lab-<prefix>/) on teardown. Default false. */
  keepLogs?: boolean;
  /** Directory for the state file and logs. Default /run/uvs (or $UVS_RUN_DIR). */
  runDir?: string;
}

export interface LabSegment {
  name: 'public' | 'private';
  /** The bridge in the switch namespace. */
  bridge: string;
  /** e.g. '198.18.0.0/24'. */
  ipv4: string;
  /** e.g. 'fd00:18::/64'. */
  ipv6: string;
  /** The switch router's own address on this segment. */
  router: { ipv4: string; ipv6: string; mac: string };
}

export interface LabInterface {
  ns: string;
  name: string;
  mac: string;
  segment: 'public' | 'private';
  /** Primary addresses (no prefix length). */
  ipv4: string;
  ipv6: string;
  prefixLen4: number;
  prefixLen6: number;
  /** The veth peer in the switch namespace (the bridge port); its MAC. */
  switchPort: string;
  switchPortMac: string;
}

export interface LabGateways {
  /** Default gateway. */
  ipv4: string;
  ipv6: string;
  /** Extra routes ('198.19.0.0/24 via 198.18.0.2'), as given to `ip route add`. */
  routes: string[];
}

export interface LabDirector {
  name: 'dir1' | 'dir2';
  role: 'active' | 'backup';
  ns: string;
  public: LabInterface;
  private: LabInterface;
  gateway: LabGateways;
}

export interface LabServer {
  name: string;
  index: number;
  ns: string;
  eth0: LabInterface;
  gateway: LabGateways;
  /** The VIPs are on lo (with arp_ignore=1, arp_announce=2). */
  vipOnLo: boolean;
  /** tunl0 (kernel ipip) exists and is up (only tried in 'tun' mode). */
  tunl0: boolean;
}

export interface LabDescription {
  prefix: string;
  mode: LabMode;
  createdAt: string;
  /** All namespaces, in creation order: sw, client, dir1, dir2, rs1..N. */
  namespaces: string[];
  segments: { public: LabSegment; private: LabSegment };
  /** Floating: not assigned by the lab (uvs owns it). */
  vip: { ipv4: string; ipv6: string };
  /** Floating: not assigned by the lab; the servers' gateway in 'nat' mode. */
  natRouter: { ipv4: string; ipv6: string };
  router: { ns: string; public: LabSegment['router'] & { iface: string }; private: LabSegment['router'] & { iface: string } };
  client: { ns: string; eth0: LabInterface; ipv4: string[]; ipv6: string[]; gateway: LabGateways };
  directors: [LabDirector, LabDirector];
  servers: LabServer[];
  /** Services of the real-server program (TCP and UDP unless noted). */
  ports: { echo: number; identify: number; digest: number; http: number };
  /** Veth offloads left on (true) or turned off (false). */
  offloads: boolean;
  /** Kernel ipip available in the rs namespaces: true/false, null when not tried (modes other than 'tun'). */
  ipip: boolean | null;
  /** Real-server programs started. */
  serversStarted: boolean;
}

/** A process started by the lab, as recorded in the state file. */
export interface LabProcessRecord {
  pid: number;
  /** Field 22 of /proc/PID/stat: tells a recycled PID from ours. */
  starttime: string | null;
  /** NUL-joined /proc/PID/cmdline candidates: the `ip netns exec` wrapper and the target. */
  cmdlines: string[];
  /** Leader of its own process group (spawned detached): the group is signalled too. */
  group: boolean;
  ns: string;
  name: string;
  argv: string[];
  log: string | null;
}

export interface LabState {
  version: 1;
  prefix: string;
  createdAt: string;
  /** The process whose exit tears the lab down; null for a persistent (CLI) lab. */
  owner: { pid: number; starttime: string | null } | null;
  /** true while `up` is in progress. */
  building: boolean;
  namespaces: string[];
  processes: LabProcessRecord[];
  logDir: string;
  description: LabDescription | null;
}

export interface LabStatus {
  prefix: string;
  stateFile: string;
  /** A state file exists. */
  recorded: boolean;
  /** Every recorded namespace is present. */
  up: boolean;
  persistent: boolean;
  owner: { pid: number; alive: boolean } | null;
  building: boolean;
  namespaces: { name: string; present: boolean }[];
  /** Namespaces named like this lab's but not in the state file (leftovers). */
  strayNamespaces: string[];
  processes: { pid: number; name: string; ns: string; alive: boolean; argv: string[]; log: string | null }[];
  description: LabDescription | null;
}

export interface LabDownResult {
  prefix: string;
  /** Namespaces deleted. */
  namespaces: string[];
  /** PIDs signalled (recorded ones still alive, then anything still inside the namespaces). */
  killed: number[];
  /** PIDs that needed SIGKILL. */
  forced: number[];
}
