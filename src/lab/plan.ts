// The lab plan: option validation, the address/MAC/name plan (the LabDescription) and the
// `ip` batches that build it. Pure: no system calls, so it is unit-testable without root.

import ipaddr from 'ipaddr.js';
import { UvsError } from '../errors.js';
import {
  LAB_MODES,
  type LabDescription,
  type LabDirector,
  type LabGateways,
  type LabInterface,
  type LabMode,
  type LabOptions,
  type LabServer,
} from './types.js';

export const DEFAULT_PREFIX = 'uvs';
/**
 * Prefixes are short: no interface name contains the prefix (interfaces are created inside
 * the lab's namespaces, where names like eth0/pub0 cannot collide), but namespace names,
 * state and log paths do; 12 characters leave room for `ut<pid>` plus a suffix with any
 * pid_max. Letters, digits and '_' only (no '-', so `a-rs1` can never be mistaken for a
 * namespace of prefix `a-rs`).
 */
export const MAX_PREFIX_LEN = 12;
export const MAX_SERVERS = 64;
export const MAX_CLIENTS = 80;

export const PUBLIC_V4 = '198.18.0';
export const PRIVATE_V4 = '198.19.0';
export const PUBLIC_V6 = 'fd00:18:';
export const PRIVATE_V6 = 'fd00:19:';

/** Host numbers (the last IPv4 octet; IPv6 uses the same digits: .10 ↔ ::10). */
export const HOST = {
  router: 1,
  dir1: 2,
  dir2: 3,
  firstClient: 10,
  firstServer: 11,
  vip: 100,
  natRouter: 254,
} as const;

export const PORTS = { echo: 7, identify: 9000, digest: 9001, http: 80 } as const;

export interface ResolvedLabOptions {
  prefix: string;
  servers: number;
  clients: number;
  mode: LabMode;
  vip: string;
  vip6: string;
  natRouter: string;
  natRouter6: string;
  vipOnLo: boolean;
  startServers: boolean;
  offloads: boolean;
  persistent: boolean;
  replace: boolean;
  keepLogs: boolean;
  runDir: string;
}

function bad(message: string): never {
  throw new UvsError('UVS_LAB_BAD_OPTION', message);
}

export function validatePrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || prefix.length === 0) bad('lab prefix must be a non-empty string');
  if (prefix.length > MAX_PREFIX_LEN) {
    bad(
      `lab prefix '${prefix}' is too long (${prefix.length} > ${MAX_PREFIX_LEN} characters): ` +
        `keep namespace names like '${prefix.slice(0, MAX_PREFIX_LEN)}-client' short`,
    );
  }
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(prefix)) {
    bad(`lab prefix '${prefix}' is invalid: use a letter followed by letters, digits or '_' (no '-', '/', '.')`);
  }
  return prefix;
}

function int(name: string, v: unknown, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    bad(`lab option ${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
  return v;
}

function v4in(name: string, v: unknown, net: string, reserved: Map<number, string>, dflt: string): string {
  const s = v === undefined ? dflt : v;
  if (typeof s !== 'string' || !ipaddr.IPv4.isValidFourPartDecimal(s)) bad(`lab option ${name}: '${String(s)}' is not an IPv4 address`);
  const parts = s.split('.');
  if (parts.slice(0, 3).join('.') !== net) bad(`lab option ${name}: ${s} is not in ${net}.0/24`);
  const host = Number(parts[3]);
  if (host === 0 || host === 255) bad(`lab option ${name}: ${s} is the network or broadcast address of ${net}.0/24`);
  const used = reserved.get(host);
  if (used !== undefined) bad(`lab option ${name}: ${s} is already used by the lab (${used})`);
  return s;
}

function v6in(name: string, v: unknown, net: string, reserved: Map<number, string>, dflt: string): string {
  const s = v === undefined ? dflt : v;
  if (typeof s !== 'string' || !ipaddr.IPv6.isValid(s)) bad(`lab option ${name}: '${String(s)}' is not an IPv6 address`);
  const a = ipaddr.IPv6.parse(s);
  const prefix = ipaddr.IPv6.parse(`${net}:`);
  if (!a.match(prefix, 64)) bad(`lab option ${name}: ${s} is not in ${net}:/64`);
  if (a.parts.slice(4).every((x) => x === 0)) bad(`lab option ${name}: ${s} is the subnet-router anycast address`);
  for (const [host, used] of reserved) {
    if (ipaddr.IPv6.parse(`${net}:${host}`).toString() === a.toString()) bad(`lab option ${name}: ${s} is already used by the lab (${used})`);
  }
  return a.toString();
}

export function resolveOptions(opts: LabOptions = {}): ResolvedLabOptions {
  const prefix = validatePrefix(opts.prefix ?? DEFAULT_PREFIX);
  const mode = opts.mode ?? 'nat';
  if (!LAB_MODES.includes(mode)) bad(`lab mode must be one of ${LAB_MODES.join(', ')}, got '${String(mode)}'`);
  const servers = int('servers', opts.servers, 1, MAX_SERVERS, 3);
  const clients = int('clients', opts.clients, 1, MAX_CLIENTS, 1);

  const pubUsed = new Map<number, string>([
    [HOST.router, 'switch router'],
    [HOST.dir1, 'dir1'],
    [HOST.dir2, 'dir2'],
  ]);
  for (let i = 0; i < clients; i++) pubUsed.set(HOST.firstClient + i, 'client');
  const privUsed = new Map<number, string>([
    [HOST.router, 'switch router'],
    [HOST.dir1, 'dir1'],
    [HOST.dir2, 'dir2'],
  ]);
  for (let i = 0; i < servers; i++) privUsed.set(HOST.firstServer + i, `rs${i + 1}`);

  const vip = v4in('vip', opts.vip, PUBLIC_V4, pubUsed, `${PUBLIC_V4}.${HOST.vip}`);
  const vip6 = v6in('vip6', opts.vip6, `${PUBLIC_V6}`, pubUsed, `${PUBLIC_V6}:${HOST.vip}`);
  const natRouter = v4in('natRouter', opts.natRouter, PRIVATE_V4, privUsed, `${PRIVATE_V4}.${HOST.natRouter}`);
  const natRouter6 = v6in('natRouter6', opts.natRouter6, `${PRIVATE_V6}`, privUsed, `${PRIVATE_V6}:${HOST.natRouter}`);

  return {
    prefix,
    servers,
    clients,
    mode,
    vip,
    vip6,
    natRouter,
    natRouter6,
    vipOnLo: opts.vipOnLo ?? (mode === 'dr' || mode === 'tun'),
    startServers: opts.startServers ?? true,
    offloads: opts.offloads ?? true,
    persistent: opts.persistent ?? false,
    replace: opts.replace ?? false,
    keepLogs: opts.keepLogs ?? false,
    runDir: opts.runDir ?? process.env['UVS_RUN_DIR'] ?? '/run/uvs',
  };
}

/** Locally administered, deterministic MACs: 02:75:76:SS:PP:HH (SS segment 0x18/0x19, PP 0 host / 1 switch port). */
export function labMac(segment: 'public' | 'private', host: number, switchPort = false): string {
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return ['02', '75', '76', segment === 'public' ? '18' : '19', switchPort ? '01' : '00', hex(host)].join(':');
}

export function namespaceNames(prefix: string, servers: number): string[] {
  const n = [`${prefix}-sw`, `${prefix}-client`, `${prefix}-dir1`, `${prefix}-dir2`];
  for (let i = 1; i <= servers; i++) n.push(`${prefix}-rs${i}`);
  return n;
}

/** Does this namespace name belong to a lab of `prefix` (for leftovers without a state file)? */
export function isLabNamespace(prefix: string, name: string): boolean {
  if (!name.startsWith(prefix + '-')) return false;
  return /^(sw|client|dir1|dir2|rs[1-9][0-9]*)$/.test(name.slice(prefix.length + 1));
}

export interface LabPlan {
  options: ResolvedLabOptions;
  description: LabDescription;
  /** Root-namespace batch: `netns add` lines. */
  netnsBatch: string[];
  /** Per-namespace sysctls set before the interfaces exist (so `default.*` values are inherited). */
  sysctls: Map<string, string[]>;
  /** The switch namespace's batch: bridges, veth pairs (peers created straight into their namespaces). */
  switchBatch: string[];
  /** Per-namespace batches run after the switch batch: addresses, links up, routes. */
  hostBatches: Map<string, string[]>;
  /** Per-namespace interfaces whose offloads are turned off when options.offloads is false. */
  offloadIfaces: Map<string, string[]>;
}

export function planLab(opts: LabOptions = {}): LabPlan {
  const o = resolveOptions(opts);
  const p = o.prefix;
  const ns = {
    sw: `${p}-sw`,
    client: `${p}-client`,
    dir1: `${p}-dir1`,
    dir2: `${p}-dir2`,
  };
  const v4 = (seg: 'public' | 'private', host: number) => `${seg === 'public' ? PUBLIC_V4 : PRIVATE_V4}.${host}`;
  const v6 = (seg: 'public' | 'private', host: number) => `${seg === 'public' ? PUBLIC_V6 : PRIVATE_V6}:${host}`;

  const iface = (nsName: string, name: string, segment: 'public' | 'private', host: number, switchPort: string): LabInterface => ({
    ns: nsName,
    name,
    mac: labMac(segment, host),
    segment,
    ipv4: v4(segment, host),
    ipv6: v6(segment, host),
    prefixLen4: 24,
    prefixLen6: 64,
    switchPort,
    switchPortMac: labMac(segment, host, true),
  });

  const routerPub = { ipv4: v4('public', HOST.router), ipv6: v6('public', HOST.router), mac: labMac('public', HOST.router) };
  const routerPriv = { ipv4: v4('private', HOST.router), ipv6: v6('private', HOST.router), mac: labMac('private', HOST.router) };

  const clientEth0 = iface(ns.client, 'eth0', 'public', HOST.firstClient, 'c0');
  const clientV4: string[] = [];
  const clientV6: string[] = [];
  for (let i = 0; i < o.clients; i++) {
    clientV4.push(v4('public', HOST.firstClient + i));
    clientV6.push(v6('public', HOST.firstClient + i));
  }
  const clientGw: LabGateways = { ipv4: routerPub.ipv4, ipv6: routerPub.ipv6, routes: [] };
  if (o.mode === 'routed') {
    clientGw.routes.push(`${PRIVATE_V4}.0/24 via ${v4('public', HOST.dir1)}`, `${PRIVATE_V6}:/64 via ${v6('public', HOST.dir1)}`);
  }

  const directors = (['dir1', 'dir2'] as const).map((name, i): LabDirector => ({
    name,
    role: i === 0 ? ('active' as const) : ('backup' as const),
    ns: ns[name],
    public: iface(ns[name], 'pub0', 'public', HOST[name], `d${i + 1}p`),
    private: iface(ns[name], 'priv0', 'private', HOST[name], `d${i + 1}v`),
    gateway: { ipv4: routerPub.ipv4, ipv6: routerPub.ipv6, routes: [] },
  })) as [LabDirector, LabDirector];

  const serverGw: LabGateways =
    o.mode === 'nat'
      ? { ipv4: o.natRouter, ipv6: o.natRouter6, routes: [] }
      : o.mode === 'routed'
        ? { ipv4: v4('private', HOST.dir1), ipv6: v6('private', HOST.dir1), routes: [] }
        : { ipv4: routerPriv.ipv4, ipv6: routerPriv.ipv6, routes: [] };

  const servers: LabServer[] = [];
  for (let i = 1; i <= o.servers; i++) {
    const nsName = `${p}-rs${i}`;
    servers.push({
      name: `rs${i}`,
      index: i,
      ns: nsName,
      eth0: iface(nsName, 'eth0', 'private', HOST.firstServer + i - 1, `r${i}`),
      gateway: { ...serverGw, routes: [...serverGw.routes] },
      vipOnLo: o.vipOnLo,
      tunl0: false,
    });
  }

  const namespaces = namespaceNames(p, o.servers);
  const description: LabDescription = {
    prefix: p,
    mode: o.mode,
    createdAt: new Date().toISOString(),
    namespaces,
    segments: {
      public: { name: 'public', bridge: 'brpub', ipv4: `${PUBLIC_V4}.0/24`, ipv6: `${PUBLIC_V6}:/64`, router: routerPub },
      private: { name: 'private', bridge: 'brpriv', ipv4: `${PRIVATE_V4}.0/24`, ipv6: `${PRIVATE_V6}:/64`, router: routerPriv },
    },
    vip: { ipv4: o.vip, ipv6: o.vip6 },
    natRouter: { ipv4: o.natRouter, ipv6: o.natRouter6 },
    router: { ns: ns.sw, public: { ...routerPub, iface: 'brpub' }, private: { ...routerPriv, iface: 'brpriv' } },
    client: { ns: ns.client, eth0: clientEth0, ipv4: clientV4, ipv6: clientV6, gateway: clientGw },
    directors,
    servers,
    ports: { ...PORTS },
    offloads: o.offloads,
    ipip: null,
    serversStarted: false,
  };

  // --- commands -------------------------------------------------------------------------
  const netnsBatch = namespaces.map((n) => `netns add ${n}`);

  const common = [
    'net.ipv4.conf.all.rp_filter=0',
    'net.ipv4.conf.default.rp_filter=0',
    'net.ipv6.conf.all.accept_dad=0',
    'net.ipv6.conf.default.accept_dad=0',
  ];
  const sysctls = new Map<string, string[]>();
  sysctls.set(ns.sw, [
    ...common,
    'net.ipv4.ip_forward=1',
    'net.ipv6.conf.all.forwarding=1',
    // Bridged frames must not go through the switch namespace's netfilter (br_netfilter).
    'net.bridge.bridge-nf-call-iptables=0',
    'net.bridge.bridge-nf-call-ip6tables=0',
    'net.bridge.bridge-nf-call-arptables=0',
  ]);
  // The client is a load generator: many connections to one VIP:port must not run out of
  // source ports (the client keeps TIME_WAIT for the connections it closes first).
  sysctls.set(ns.client, [...common, 'net.ipv4.ip_local_port_range=1024 65535', 'net.ipv4.tcp_tw_reuse=1']);
  for (const d of directors) sysctls.set(d.ns, [...common, 'net.ipv4.ip_forward=0', 'net.ipv6.conf.all.forwarding=0']);
  for (const s of servers) {
    sysctls.set(s.ns, [
      ...common,
      // LVS-DR/TUN real servers: never answer or announce ARP for the VIP on lo. `default.*`
      // is set before eth0 exists so eth0 inherits it (and it is checked by the tests).
      'net.ipv4.conf.all.arp_ignore=1',
      'net.ipv4.conf.all.arp_announce=2',
      'net.ipv4.conf.default.arp_ignore=1',
      'net.ipv4.conf.default.arp_announce=2',
    ]);
  }

  const bridgeOpts = 'type bridge forward_delay 0 stp_state 0 mcast_snooping 0';
  const switchBatch = [
    'link set lo up',
    `link add brpub address ${routerPub.mac} ${bridgeOpts}`,
    `link add brpriv address ${routerPriv.mac} ${bridgeOpts}`,
  ];
  const pairs: { host: LabInterface; bridge: string }[] = [{ host: clientEth0, bridge: 'brpub' }];
  for (const d of directors) pairs.push({ host: d.public, bridge: 'brpub' }, { host: d.private, bridge: 'brpriv' });
  for (const s of servers) pairs.push({ host: s.eth0, bridge: 'brpriv' });
  for (const { host } of pairs) {
    switchBatch.push(
      `link add ${host.switchPort} address ${host.switchPortMac} type veth peer name ${host.name} address ${host.mac} netns ${host.ns}`,
    );
  }
  for (const { host, bridge } of pairs) switchBatch.push(`link set ${host.switchPort} master ${bridge} up`);
  switchBatch.push(
    'link set brpub up',
    'link set brpriv up',
    `addr add ${routerPub.ipv4}/24 dev brpub`,
    `addr add ${routerPub.ipv6}/64 dev brpub nodad`,
    `addr add ${routerPriv.ipv4}/24 dev brpriv`,
    `addr add ${routerPriv.ipv6}/64 dev brpriv nodad`,
  );

  const hostBatches = new Map<string, string[]>();
  const addrLines = (i: LabInterface) => [
    `link set ${i.name} up`,
    `addr add ${i.ipv4}/${i.prefixLen4} dev ${i.name}`,
    `addr add ${i.ipv6}/${i.prefixLen6} dev ${i.name} nodad`,
  ];
  const gwLines = (g: LabGateways) => [`route add default via ${g.ipv4}`, `route add default via ${g.ipv6}`, ...g.routes.map((r) => `route add ${r}`)];

  const cl = ['link set lo up', ...addrLines(clientEth0)];
  for (let i = 1; i < o.clients; i++) cl.push(`addr add ${clientV4[i]}/24 dev eth0`, `addr add ${clientV6[i]}/64 dev eth0 nodad`);
  cl.push(...gwLines(clientGw));
  hostBatches.set(ns.client, cl);
  for (const d of directors) hostBatches.set(d.ns, ['link set lo up', ...addrLines(d.public), ...addrLines(d.private), ...gwLines(d.gateway)]);
  for (const s of servers) {
    const b = ['link set lo up', ...addrLines(s.eth0)];
    if (s.vipOnLo) b.push(`addr add ${o.vip}/32 dev lo`, `addr add ${o.vip6}/128 dev lo`);
    b.push(...gwLines(s.gateway));
    hostBatches.set(s.ns, b);
  }

  const offloadIfaces = new Map<string, string[]>();
  offloadIfaces.set(ns.sw, pairs.map((x) => x.host.switchPort));
  for (const { host } of pairs) offloadIfaces.set(host.ns, [...(offloadIfaces.get(host.ns) ?? []), host.name]);

  return { options: o, description, netnsBatch, sysctls, switchBatch, hostBatches, offloadIfaces };
}
