// Piranha's lvs.cf (lvs.cf(5), lvsconfig.c of piranha 0.8.6; reference: lvs-cf.md): load it
// into the service table, and save a table back as lvs.cf.
//
// The parser follows lvsconfig.c: line oriented, `key = value` with `=` a token of its
// own, `#` comments only at the start of a line, quotes group blanks, integers as C's
// strtol(s, 0) (0x hex, leading-0 octal), booleans exactly 0 or 1, any unknown key is an
// error, and a real server's default port is its virtual's `port` as parsed so far.
// Deliberate differences: host names are not resolved (addresses must be numeric), both
// quote kinds are stripped (lvsd strips only double quotes), `service = fos` (failover
// services) is refused, and `failover` blocks are checked but not loaded.
//
// Mapping (what lvsd/nanny/pulse do with each key):
//   active virtual -> VirtualService (inactive virtuals and servers never reach IPVS: left out)
//   address = VIP DEV, vip_nmask -> service.vip and director.floating; fwmark VIPs also -> director.owned
//   network -> every server's method; nat_router = IP DEV, nat_nmask -> director.owned/floating (NAT only)
//   send/expect/use_regex/send_program/timeout/reentry/load_monitor -> service.health (nanny)
//   quiesce_server -> service.quiesce; sorry_server -> service.sorryServer (on the virtual port)
//   tcp_timeout/tcpfin_timeout/udp_timeout -> timeouts; other global keys -> director.ha
// director.interfaces lists the devices the floating addresses live on (eth0 of eth0:1).

import type { DirectorSettings, FloatingAddress, HealthCheck, Method, RealServer, ServiceTable, VirtualService } from './model.js';
import { emptyTable, newServer, newService, serviceKey } from './model.js';
import { configError, parseAddress, parseInteger, parseIpv4Mask, parsePort, shown, splitLine, type Token } from './values.js';
import { UvsError } from '../errors.js';

/** ipvsadm --set and -p accept up to 31 days. */
const MAX_SECONDS = 2678400;
/** nanny's probe when the virtual port is 80 and nothing else is configured. */
const DEFAULT_HTTP_SEND = 'GET / HTTP/1.0\r\n\r\n';
const DEFAULT_HTTP_EXPECT = 'HTTP';
/** nanny -t and -a defaults (lvs.cf `timeout`, `reentry`). */
const DEFAULT_CHECK_TIMEOUT = 10;
const DEFAULT_REENTRY = 180;

type ValueParser = (args: Token[], where: string, key: string) => string;

const oneToken = (args: Token[], where: string, key: string): string => {
  if (args.length === 0) throw configError(where, `${key}: missing arguments`);
  if (args.length > 1) throw configError(where, `${key}: unexpected arguments after ${shown(args[0]!.text)}: ${shown(args[1]!.text)}`);
  return args[0]!.text;
};
const int = (min: number, max: number): ValueParser => (args, where, key) => String(parseInteger(oneToken(args, where, key), where, key, min, max, true));
const bool: ValueParser = (args, where, key) => {
  const v = oneToken(args, where, key);
  if (v !== '0' && v !== '1') throw configError(where, `${key}: boolean expected (0 or 1), got ${shown(v)}`);
  return v;
};
const ipv4: ValueParser = (args, where, key) => parseAddress(oneToken(args, where, key), where, key, 4).address;
const mask: ValueParser = (args, where, key) => parseIpv4Mask(oneToken(args, where, key), where, key);
const word: ValueParser = oneToken;
const oneOf = (...values: string[]): ValueParser => (args, where, key) => {
  const v = oneToken(args, where, key);
  if (!values.includes(v)) throw configError(where, `${key}: invalid argument ${shown(v)} (expected ${values.join(' or ')})`);
  return v;
};
const namedPort: ValueParser = (args, where, key) => String(parsePort(oneToken(args, where, key), where, key, { names: true, cStyle: true }));
const numericPort: ValueParser = (args, where, key) => String(parsePort(oneToken(args, where, key), where, key, { cStyle: true }));
/** `IP DEVICE`, e.g. `192.168.10.254 eth1:1`. */
const addressAndDevice: ValueParser = (args, where, key) => {
  if (args.length < 2) throw configError(where, `${key}: missing arguments: expected an address and a device (e.g. 10.0.0.100 eth0:1)`);
  if (args.length > 2) throw configError(where, `${key}: unexpected arguments after the device: ${shown(args[2]!.text)}`);
  const address = parseAddress(args[0]!.text, where, key, 4).address;
  const device = args[1]!.text;
  if (!/^[A-Za-z0-9_.-]{1,15}(:[A-Za-z0-9_.-]{1,14})?$/.test(device)) throw configError(where, `${key}: expected a device name such as eth0 or eth0:1, got ${shown(device)}`);
  return `${address} ${device}`;
};
/** `[ a b c ]` (legacy `dirs`). */
const list: ValueParser = (args, where, key) => {
  if (args.length < 2 || args[0]!.text !== '[' || args[args.length - 1]!.text !== ']') throw configError(where, `${key}: list expected ([ item ... ])`);
  return args.slice(1, -1).map((a) => a.text).join(' ');
};

const GLOBAL_KEYS: Record<string, ValueParser> = {
  serial_no: int(0, Number.MAX_SAFE_INTEGER),
  service: oneOf('lvs', 'fos'),
  primary: ipv4,
  primary_private: ipv4,
  primary_shared: word,
  backup_active: bool,
  backup: ipv4,
  backup_private: ipv4,
  backup_shared: word,
  heartbeat: bool,
  heartbeat_port: namedPort,
  keepalive: int(1, MAX_SECONDS),
  deadtime: int(1, MAX_SECONDS),
  network: oneOf('nat', 'direct', 'tunnel'),
  nat_router: addressAndDevice,
  nat_nmask: mask,
  debug_level: word,
  monitor_links: int(0, 1),
  syncdaemon: bool,
  syncd_iface: word,
  syncd_id: int(0, 255),
  tcp_timeout: int(0, MAX_SECONDS),
  tcpfin_timeout: int(0, MAX_SECONDS),
  udp_timeout: int(0, MAX_SECONDS),
  active_cmd: word,
  inactive_cmd: word,
  hard_shutdown: bool,
  rsh_command: word,
  ipvsadm: word,
  reservation_conflict_action: oneOf('nothing', 'preempt'),
  sync: bool,
};

const VIRTUAL_KEYS: Record<string, ValueParser> = {
  active: bool,
  address: addressAndDevice,
  vip_nmask: mask,
  port: namedPort,
  protocol: oneOf('tcp', 'udp'),
  fwmark: int(0, 0xffffffff),
  scheduler: word,
  persistent: int(0, Number.MAX_SAFE_INTEGER),
  pmask: mask,
  send: word,
  expect: word,
  use_regex: bool,
  send_program: word,
  load_monitor: word,
  // nanny divides reentry by timeout: 0 is not a period.
  timeout: int(1, MAX_SECONDS),
  reentry: int(0, MAX_SECONDS),
  quiesce_server: bool,
  sorry_server: ipv4,
  client_monitor: word,
  start_cmd: word,
  stop_cmd: word,
  master: word,
  dirs: list,
};

const SERVER_KEYS: Record<string, ValueParser> = {
  address: ipv4,
  active: bool,
  port: numericPort,
  weight: int(-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
};

const FAILOVER_KEYS: Record<string, ValueParser> = {
  address: addressAndDevice,
  vip_nmask: mask,
  active: bool,
  port: namedPort,
  send: word,
  expect: word,
  timeout: int(1, MAX_SECONDS),
  reentry: int(0, MAX_SECONDS),
  start_cmd: word,
  stop_cmd: word,
};

/** The keys that are not failover settings: the rest of the global keys go to director.ha. */
const TABLE_GLOBALS = new Set(['network', 'nat_router', 'nat_nmask', 'tcp_timeout', 'tcpfin_timeout', 'udp_timeout']);

interface Setting {
  value: string;
  where: string;
}

interface Block {
  kind: 'virtual' | 'server' | 'failover';
  name: string;
  where: string;
  settings: Map<string, Setting>;
}

interface VirtualBlock extends Block {
  servers: ServerBlock[];
}

interface ServerBlock extends Block {
  /** The virtual's port when the block opened (lvsconfig.c's default). */
  defaultPort: number;
}

const BLOCK_KEYS: Record<Block['kind'], Record<string, ValueParser>> = { virtual: VIRTUAL_KEYS, server: SERVER_KEYS, failover: FAILOVER_KEYS };

/** Loads lvs.cf text; `file` names it in errors (`file:line: ...`). */
export function loadLvsCf(text: string, file: string): ServiceTable {
  const globals = new Map<string, Setting>();
  const virtuals: VirtualBlock[] = [];
  let virtual: VirtualBlock | undefined;
  let inner: Block | undefined;
  let lastLine = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const where = `${file}:${i + 1}`;
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    lastLine = i + 1;
    const tokens = splitLine(line, where, { comment: '', splitBraces: false });
    const [first, second] = tokens as [Token, Token | undefined];
    const open = inner ?? virtual;
    if (first.text === '}' && !first.quoted) {
      if (tokens.length > 1) throw configError(where, `unexpected arguments after }: ${shown(tokens[1]!.text)}`);
      if (!open) throw configError(where, 'unexpected }: no block is open');
      if (inner) inner = undefined;
      else virtual = undefined;
      continue;
    }
    if (['virtual', 'server', 'failover'].includes(first.text) && !first.quoted && second?.text !== '=') {
      const kind = first.text as Block['kind'];
      const last = tokens[tokens.length - 1]!;
      if (tokens.length !== 3 || last.text !== '{' || last.quoted) throw configError(where, `${kind}: expected "${kind} NAME {" (the name is one token, the brace on the same line)`);
      const block: Block = { kind, name: second!.text, where, settings: new Map() };
      if (kind === 'server') {
        if (!virtual || inner) throw configError(where, 'server: a server block belongs inside a virtual block');
        const port = virtual.settings.get('port');
        const server: ServerBlock = { ...block, defaultPort: port ? Number(port.value) : 80 };
        virtual.servers.push(server);
        inner = server;
      } else {
        if (open) throw configError(where, `${kind}: blocks do not nest here: ${open.kind} ${open.name} (${open.where}) is not closed`);
        if (kind === 'virtual') virtuals.push((virtual = { ...block, servers: [] }));
        else inner = block;
      }
      continue;
    }
    const key = first.text;
    const keys = open ? BLOCK_KEYS[open.kind] : GLOBAL_KEYS;
    if (!Object.hasOwn(keys, key)) throw configError(where, `unknown command ${shown(key)}${open ? ` in ${open.kind} ${open.name}` : ''} (expected one of ${Object.keys(keys).join(', ')})`);
    if (second?.text !== '=' || second.quoted) throw configError(where, `${key}: equal (=) expected after command${second ? `, got ${shown(second.text)}` : ''} (write "${key} = value")`);
    (open ? open.settings : globals).set(key, { value: keys[key]!(tokens.slice(2), where, key), where });
  }
  const unclosed = inner ?? virtual;
  if (unclosed) throw configError(unclosed.where, `unexpected end of file: ${unclosed.kind} ${unclosed.name} is not closed (expected })`);
  if (lastLine === 0) throw configError(`${file}:1`, 'empty configuration: expected global settings and virtual blocks');
  return buildTable(globals, virtuals);
}

const METHOD_OF_NETWORK: Record<string, Method> = { nat: 'nat', direct: 'dr', tunnel: 'tun' };

function buildTable(globals: Map<string, Setting>, virtuals: VirtualBlock[]): ServiceTable {
  const service = globals.get('service');
  if (service?.value === 'fos') throw configError(service.where, 'service = fos: failover services (FOS) are not supported by uvs; use service = lvs');
  const table = emptyTable();
  const num = (key: string): number | undefined => (globals.has(key) ? Number(globals.get(key)!.value) : undefined);
  table.timeouts = { tcp: num('tcp_timeout') ?? 0, tcpfin: num('tcpfin_timeout') ?? 0, udp: num('udp_timeout') ?? 0 };
  const method = METHOD_OF_NETWORK[globals.get('network')?.value ?? 'nat']!;
  const director: DirectorSettings = table.director;
  const floating: FloatingAddress[] = [];
  const addFloating = (f: FloatingAddress): void => {
    if (!floating.some((g) => g.address === f.address)) floating.push(f);
  };
  for (const v of virtuals) {
    if (v.settings.get('active')?.value !== '1') continue;
    const svc = buildService(v, method);
    table.services.push(svc);
    addFloating(svc.vip!);
    if (svc.fwmark !== 0 && !director.owned.includes(svc.vip!.address)) director.owned.push(svc.vip!.address);
  }
  const natRouter = globals.get('nat_router');
  if (method === 'nat' && natRouter) {
    const nat = floatingOf(natRouter, globals.get('nat_nmask')?.value);
    addFloating(nat);
    if (!director.owned.includes(nat.address)) director.owned.push(nat.address);
  }
  if (floating.length > 0) {
    director.floating = floating;
    director.interfaces = [...new Set(floating.map((f) => f.device!))];
  }
  const ha: Record<string, string> = {};
  for (const [key, s] of globals) if (!TABLE_GLOBALS.has(key)) ha[key] = s.value;
  if (Object.keys(ha).length > 0) director.ha = ha;
  return table;
}

/** `IP DEV[:n]` (+ mask) as a floating address: device eth0, label eth0:1. */
function floatingOf(setting: Setting, netmask: string | undefined): FloatingAddress {
  const [address, label] = setting.value.split(' ') as [string, string];
  const device = label.split(':')[0]!;
  return { address, ...(netmask !== undefined ? { netmask } : {}), device, ...(label !== device ? { label } : {}), origin: setting.where };
}

function buildService(v: VirtualBlock, method: Method): VirtualService {
  const get = (key: string): string | undefined => v.settings.get(key)?.value;
  const address = v.settings.get('address');
  if (!address) throw configError(v.where, `virtual ${v.name}: missing address (address = VIP DEVICE)`);
  const vip = floatingOf(address, get('vip_nmask'));
  const port = Number(get('port') ?? 80);
  const fwmark = Number(get('fwmark') ?? 0);
  const protocol = (get('protocol') ?? 'tcp') as 'tcp' | 'udp';
  const svc = newService(fwmark !== 0 ? { protocol: 'tcp', address: '', port: 0, fwmark, family: 4 } : { protocol, address: vip.address, port, fwmark: 0, family: 4 });
  svc.scheduler = get('scheduler') ?? svc.scheduler;
  svc.persistent = Number(get('persistent') ?? 0);
  // lvsd passes -M only with -p, and takes 255.255.255.255 as "not set".
  const pmask = get('pmask');
  if (svc.persistent > 0 && pmask !== undefined) svc.netmask = pmask;
  svc.name = v.name;
  svc.vip = vip;
  svc.quiesce = get('quiesce_server') === '1';
  const sorry = get('sorry_server');
  // The sorry server always takes the virtual port.
  if (sorry !== undefined) svc.sorryServer = { address: sorry, port };
  // A fwmark service routed (DR/TUN) keeps the packet's port: nanny still probes the virtual port.
  const portKept = fwmark !== 0 && method !== 'nat';
  svc.health = healthOf(v, protocol, port, portKept);
  for (const s of v.servers) {
    if (s.settings.get('active')?.value !== '1') continue;
    const server = buildServer(s, method);
    if (portKept && server.port !== port) server.health = { ...svc.health, port: server.port };
    if (portKept) server.port = 0;
    svc.servers.push(server);
  }
  svc.origin = v.where;
  return svc;
}

function buildServer(s: ServerBlock, method: Method): RealServer {
  const address = s.settings.get('address');
  if (!address) throw configError(s.where, `server ${s.name}: missing address`);
  const port = s.settings.get('port');
  const server = newServer(address.value, port ? Number(port.value) : s.defaultPort);
  server.method = method;
  const weight = s.settings.get('weight');
  if (weight) server.weight = Number(weight.value);
  server.name = s.name;
  server.origin = s.where;
  return server;
}

/** nanny's check for a virtual's servers (nanny(8), lvs-cf.md §8). */
function healthOf(v: VirtualBlock, protocol: 'tcp' | 'udp', port: number, portKept: boolean): HealthCheck {
  const get = (key: string): string | undefined => v.settings.get(key)?.value;
  const timeout = Number(get('timeout') ?? DEFAULT_CHECK_TIMEOUT);
  const reentry = Number(get('reentry') ?? DEFAULT_REENTRY);
  const program = get('send_program');
  let send = get('send');
  let expect = get('expect');
  if (send !== undefined) send = unescapeNanny(send);
  if (expect !== undefined) expect = unescapeNanny(expect);
  if (port === 80 && send === undefined && expect === undefined && program === undefined) {
    send = DEFAULT_HTTP_SEND;
    expect = DEFAULT_HTTP_EXPECT;
  }
  // UDP probes always wait for a reply (send/expect over the service's protocol).
  const kind = program !== undefined ? 'external' : send !== undefined || expect !== undefined || protocol === 'udp' ? 'send-expect' : 'tcp';
  // One failure removes a server; floor(reentry/timeout) successes bring it back.
  const health: HealthCheck = { kind, interval: timeout, timeout, retries: 1, riseCount: Math.max(1, Math.floor(reentry / timeout)) };
  if (send !== undefined) health.send = send;
  if (expect !== undefined) health.expect = expect;
  if (program !== undefined) health.program = program;
  if (get('use_regex') === '1') health.regex = true;
  if (portKept) health.port = port;
  const extra: Record<string, string> = {};
  for (const key of ['load_monitor', 'client_monitor']) if (get(key) !== undefined) extra[key] = get(key)!;
  if (Object.keys(extra).length > 0) health.extra = extra;
  return health;
}

const NANNY_ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"' };

/** nanny's translation of `\n \r \t \\ \' \"` in send/expect; other backslashes stay. */
function unescapeNanny(s: string): string {
  return s.replace(/\\(.)/g, (all, c: string) => NANNY_ESCAPES[c] ?? all);
}

function escapeNanny(s: string): string {
  return s.replace(/[\\\n\r\t"]/g, (c) => ({ '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '"': '\\"' })[c]!);
}

// ---------------------------------------------------------------------------------------------
// Saving

/** The global keys in the order Piranha's GUI writes them; other ha keys follow in theirs. */
const GLOBAL_ORDER = ['serial_no', 'primary', 'primary_private', 'service', 'backup_active', 'backup', 'backup_private', 'heartbeat', 'heartbeat_port', 'keepalive', 'deadtime', 'network', 'nat_router', 'nat_nmask', 'debug_level', 'monitor_links', 'syncdaemon', 'syncd_iface', 'syncd_id', 'tcp_timeout', 'tcpfin_timeout', 'udp_timeout'];
const NETWORK_OF_METHOD: Record<Method, string> = { nat: 'nat', dr: 'direct', tun: 'tunnel' };

function unsupported(what: string): UvsError {
  return new UvsError('UVS_CONFIG', `cannot write lvs.cf: ${what}`);
}

/** A token lvsconfig.c reads back as written: bare if it can be, else quoted. */
function token(value: string): string {
  if (/^[^\s"'#=[\]{}]+$/.test(value)) return value;
  if (value.includes('"') || /\\$/.test(value)) throw unsupported(`the value ${shown(value)} cannot be quoted`);
  return `"${value}"`;
}

/**
 * Writes a table as lvs.cf (every service active). What lvs.cf cannot say is an error:
 * IPv6, SCTP, mixed forwarding methods, scheduler flags, one-packet scheduling, persistence
 * engines, thresholds, tunnel options, per-server checks other than a probe port.
 */
export function saveLvsCf(table: ServiceTable): string {
  const methods = new Set(table.services.flatMap((s) => s.servers.map((d) => d.method)));
  if (methods.size > 1) throw unsupported(`lvs.cf has one forwarding method (network) for every server; the table mixes ${[...methods].join(', ')}`);
  const vips = new Set(table.services.map((s) => s.vip?.address ?? s.address));
  const natRouters = (table.director.floating ?? []).filter((f) => !vips.has(f.address));
  if (natRouters.length > 1) throw unsupported(`lvs.cf has one nat_router; the table floats ${natRouters.map((f) => f.address).join(', ')}`);
  const network = [...methods][0] ?? (natRouters.length > 0 ? 'nat' : undefined);
  const globals = new Map<string, string>(Object.entries(table.director.ha ?? {}).map(([k, v]) => [k, token(v)]));
  for (const key of globals.keys()) if (!Object.hasOwn(GLOBAL_KEYS, key) || TABLE_GLOBALS.has(key)) throw unsupported(`the setting ${shown(key)} is not an lvs.cf global setting`);
  if (network !== undefined) globals.set('network', NETWORK_OF_METHOD[network as Method]);
  const nat = natRouters[0];
  if (nat) {
    globals.set('nat_router', `${nat.address} ${nat.label ?? nat.device ?? 'eth0'}`);
    if (nat.netmask !== undefined) globals.set('nat_nmask', nat.netmask);
  }
  const t = table.timeouts;
  if (t.tcp || t.tcpfin || t.udp) for (const [key, v] of [['tcp_timeout', t.tcp], ['tcpfin_timeout', t.tcpfin], ['udp_timeout', t.udp]] as const) globals.set(key, String(v));
  const keys = [...GLOBAL_ORDER.filter((k) => globals.has(k)), ...[...globals.keys()].filter((k) => !GLOBAL_ORDER.includes(k))];
  const out = keys.map((k) => `${k} = ${globals.get(k)!}`);
  const names = new Set<string>();
  table.services.forEach((s, i) => {
    out.push('', ...saveVirtual(s, i, names, table.director.interfaces?.[0] ?? 'eth0'));
  });
  return `${out.join('\n')}\n`;
}

function saveVirtual(s: VirtualService, index: number, names: Set<string>, defaultDevice: string): string[] {
  const key = serviceKey(s);
  if (s.family !== 4) throw unsupported(`${key}: lvs.cf is IPv4 only`);
  if (s.protocol === 'sctp') throw unsupported(`${key}: lvs.cf has tcp and udp only`);
  if (s.schedFlags.length > 0 || s.onePacket || s.pe !== '') throw unsupported(`${key}: scheduler flags, one-packet scheduling and persistence engines have no lvs.cf key`);
  const vip = s.vip ?? { address: s.address, device: defaultDevice };
  if (!vip.address) throw unsupported(`${key}: a fwmark service needs the address it floats (service.vip)`);
  let name = s.name && /^[^\s"']+$/.test(s.name) ? s.name : `vs${index + 1}`;
  while (names.has(name)) name = `${name}_${index + 1}`;
  names.add(name);
  const health = s.health;
  // A fwmark virtual's port is only what nanny probes and where the sorry server listens.
  const port = s.fwmark !== 0 ? (s.sorryServer?.port ?? health?.port ?? s.servers.find((d) => d.port !== 0)?.port ?? 80) : s.port;
  const lines: [string, string][] = [
    ['active', '1'],
    ['address', `${vip.address} ${vip.label ?? vip.device ?? defaultDevice}`],
  ];
  if (vip.netmask !== undefined) lines.push(['vip_nmask', vip.netmask]);
  if (s.fwmark !== 0) lines.push(['fwmark', String(s.fwmark)]);
  lines.push(['port', String(port)], ['protocol', s.protocol], ['scheduler', token(s.scheduler)]);
  if (s.persistent > 0) {
    lines.push(['persistent', String(s.persistent)]);
    if (s.netmask !== '255.255.255.255') lines.push(['pmask', s.netmask]);
  }
  if (health) lines.push(...saveHealth(health, key));
  if (s.quiesce !== undefined) lines.push(['quiesce_server', s.quiesce ? '1' : '0']);
  if (s.sorryServer) {
    if (s.sorryServer.port !== port) throw unsupported(`${key}: the lvs.cf sorry server always takes the virtual port ${port}, not ${s.sorryServer.port}`);
    lines.push(['sorry_server', s.sorryServer.address]);
  }
  const out = [`virtual ${name} {`, ...lines.map(([k, v]) => `     ${k} = ${v}`)];
  const serverNames = new Set<string>();
  s.servers.forEach((d, j) => {
    const where = `${key} -> ${d.address}:${d.port}`;
    if (d.upper !== 0 || d.lower !== 0 || d.tunType !== undefined || d.quiesce !== undefined || d.additionalHealth) throw unsupported(`${where}: thresholds, tunnel options and per-server quiesce or checks have no lvs.cf key`);
    // A routed fwmark server's only port is the one nanny probes.
    const probed = d.health && health && JSON.stringify({ ...d.health, port: health.port }) === JSON.stringify(health) ? d.health.port : undefined;
    if (d.health && probed === undefined) throw unsupported(`${where}: lvs.cf checks every server of a virtual the same way`);
    let serverName = d.name && /^[^\s"']+$/.test(d.name) ? d.name : `rs${j + 1}`;
    while (serverNames.has(serverName)) serverName = `${serverName}_${j + 1}`;
    serverNames.add(serverName);
    const serverPort = s.fwmark !== 0 && d.method !== 'nat' ? (probed ?? port) : d.port;
    out.push('', `     server ${serverName} {`, `         address = ${d.address}`, '         active = 1', `         port = ${serverPort}`, `         weight = ${d.weight}`, '     }');
  });
  out.push('}');
  return out;
}

function saveHealth(h: HealthCheck, key: string): [string, string][] {
  if (!['tcp', 'send-expect', 'external'].includes(h.kind)) throw unsupported(`${key}: nanny has no ${h.kind} check`);
  const interval = h.interval ?? DEFAULT_CHECK_TIMEOUT;
  if (h.timeout !== undefined && h.timeout !== interval) throw unsupported(`${key}: lvs.cf's timeout is both the check period and the timeout (${interval} vs ${h.timeout})`);
  if (h.retries !== undefined && h.retries !== 1) throw unsupported(`${key}: nanny removes a server on its first failure (retries ${h.retries})`);
  if (!Number.isInteger(interval) || interval < 1) throw unsupported(`${key}: lvs.cf's timeout is whole seconds, not ${interval}`);
  const out: [string, string][] = [];
  if (h.send !== undefined) out.push(['send', `"${escapeNanny(h.send)}"`]);
  if (h.expect !== undefined) out.push(['expect', `"${escapeNanny(h.expect)}"`]);
  if (h.regex) out.push(['use_regex', '1']);
  if (h.program !== undefined) out.push(['send_program', token(h.program)]);
  for (const k of ['load_monitor', 'client_monitor']) if (h.extra?.[k] !== undefined) out.push([k, token(h.extra[k]!)]);
  out.push(['timeout', String(interval)], ['reentry', String((h.riseCount ?? 1) * interval)]);
  return out;
}
