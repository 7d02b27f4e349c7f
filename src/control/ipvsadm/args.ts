// ipvsadm 1.31's command line, argv to Command: the first option must be a command (else
// the try-help line, exit 255); each later option is handled as it is read, so the first bad
// value met is the one reported; then --set's three numbers, leftover arguments, -b against
// the scheduler, the legality table in its visiting order, and the per-command rules (zero
// port, one-packet only for UDP, the DR/TUN real-server port rule, address families, tunnel
// options, list conflicts). Every message and exit code is ipvsadm's. Hosts are literal
// addresses only (inet_pton6, then inet_aton) unless a NameService resolves names; no DNS.
// Reference: ipvsadm.md 1-4; ipvsadm 1.31 parse_options / process_options / parse_service.

import type { Family, Method, Protocol } from '../../config/model.js';
import { atoi, canonicalAddress, inetAton, inetPton4, inetPton6, ip4Text, stringToNumber } from './cparse.js';
import { checkCommandOptions, checkTunnelOptions, type OptionName } from './legality.js';
import { builtinNames } from './names.js';
import { PoptScanner, type PoptOption } from './popt.js';
import { flagNames, parseSchedFlags } from './sched-flags.js';
import type { Command, CommandName, ListFormat, NameService, ParseFailure, ParseResult, ServiceAddress, SyncDaemonSpec } from './types.js';
import { tryHelp } from './usage.js';

export interface ParseOptions {
  /** argv[0] as invoked: named in the try-help line (default "ipvsadm"). */
  prog?: string;
  names?: NameService;
  /** A line of -R input: -R itself is refused there. */
  readingStdin?: boolean;
}

const MAX_TIMEOUT = 86400 * 31;
const PERSISTENT_DEFAULT = 360;

const OPTIONS: PoptOption[] = [
  ...(
    [
      ['add-service', 'A'], ['edit-service', 'E'], ['delete-service', 'D'], ['clear', 'C'], ['list', 'L'], ['list', 'l'],
      ['zero', 'Z'], ['add-server', 'a'], ['edit-server', 'e'], ['delete-server', 'd'], ['help', 'h'], ['version', 'v'],
      ['restore', 'R'], ['save', 'S'], ['masquerading', 'm'], ['ipip', 'i'], ['gatewaying', 'g'], ['numeric', 'n'],
      ['connection', 'c'], ['exact', 'X'], ['ipv6', '6'], ['ops', 'o'],
    ] as const
  ).map(([long, short]): PoptOption => ({ long, short, takes: 'none', id: short })),
  ...(
    [
      ['tcp-service', 't'], ['udp-service', 'u'], ['fwmark-service', 'f'], ['scheduler', 's'], ['netmask', 'M'],
      ['real-server', 'r'], ['weight', 'w'], ['u-threshold', 'x'], ['l-threshold', 'y'], ['sched-flags', 'b'],
    ] as const
  ).map(([long, short]): PoptOption => ({ long, short, takes: 'value', id: short })),
  { long: 'persistent', short: 'p', takes: 'optional-value', id: 'p' },
  ...['set', 'timeout', 'daemon', 'stats', 'rate', 'thresholds', 'persistent-conn', 'nosort', 'sort', 'tun-info', 'tun-nocsum', 'tun-csum', 'tun-remcsum', 'json', 'health'].map(
    (long): PoptOption => ({ long, takes: 'none', id: long }),
  ),
  ...['start-daemon', 'stop-daemon', 'sctp-service', 'mcast-interface', 'syncid', 'pe', 'mcast-group', 'mcast-port', 'mcast-ttl', 'sync-maxlen', 'tun-type', 'tun-port'].map(
    (long): PoptOption => ({ long, takes: 'value', id: long }),
  ),
];

const COMMAND_OF: Record<string, CommandName> = {
  A: 'add-service', E: 'edit-service', D: 'delete-service', C: 'flush', L: 'list', l: 'list', Z: 'zero',
  a: 'add-server', e: 'edit-server', d: 'delete-server', set: 'set', R: 'restore', S: 'save',
  'start-daemon': 'start-daemon', 'stop-daemon': 'stop-daemon',
};

/** Options that only set their legality bit (and, for listings, a format flag). */
const FLAG_OPTIONS: Record<string, OptionName> = {
  c: 'connection', n: 'numeric', timeout: 'timeout', daemon: 'daemon', stats: 'stats', rate: 'rate',
  thresholds: 'thresholds', 'persistent-conn': 'persistent-conn', nosort: 'nosort', X: 'exact', 'tun-info': 'tun-info', o: 'ops',
  'tun-nocsum': 'tun-nocsum', 'tun-csum': 'tun-csum', 'tun-remcsum': 'tun-remcsum',
};

const PROTOCOL_OF: Record<string, Protocol> = { t: 'tcp', u: 'udp', 'sctp-service': 'sctp' };
const METHOD_OF: Record<string, Method> = { g: 'dr', i: 'tun', m: 'nat' };
const TUN_CSUM = ['nocsum', 'csum', 'remcsum'] as const;

/** A parsed host[:port]; port null when none was given. */
interface HostPort {
  family: Family;
  bytes: number[];
  port: number | null;
}

/** What ipvsadm's struct ipvs_command_entry holds while options are read. */
class Draft {
  readonly given = new Set<OptionName>();
  json = false;
  /** uvs extension: the health view of -L. */
  health = false;
  svc = {
    family: 0 as 0 | Family,
    protocol: null as Protocol | null,
    bytes: [0, 0, 0, 0],
    port: 0,
    fwmark: 0,
    /** IPv4: the mask as a 32-bit number; IPv6: the prefix length. */
    netmask: 0xffffffff,
    scheduler: '',
    pe: '',
    persistent: false,
    timeout: 0,
    onePacket: false,
    flagBits: 0,
  };
  dest = { family: 0 as 0 | Family, bytes: [0, 0, 0, 0], port: 0, method: 'dr' as Method, weight: 1, upper: 0, lower: 0, tunType: 'ipip' as 'ipip' | 'gue' | 'gre', tunPort: 0, tunCsum: 0 };
  daemon: SyncDaemonSpec = { state: 'master', mcastInterface: '', syncid: 0, maxlen: 0, group: '', port: 0, ttl: 0 };
  schedFlagsArg = '';
  timeouts = { tcp: 0, tcpfin: 0, udp: 0 };

  serviceAddress(): ServiceAddress {
    const s = this.svc;
    const family: Family = s.family === 6 ? 6 : 4;
    if (s.fwmark !== 0) return { protocol: 'tcp', address: '', port: 0, fwmark: s.fwmark, family };
    return { protocol: s.protocol ?? 'tcp', address: canonicalAddress(family, s.bytes), port: s.port, fwmark: 0, family };
  }
}

function usageError(message: string, argument?: string): ParseFailure {
  return { ok: false, message, exitCode: 2, stopsRestore: true, ...(argument !== undefined ? { argument } : {}) };
}

const isAllDigits = (s: string): boolean => /^[0-9]*$/.test(s);

/** A host name to an IPv4 address through the NameService (gethostbyname), if it has a resolver. */
function hostToAddress(name: string, names: NameService): number | undefined {
  const resolved = names.hostAddress?.(name);
  const bytes = resolved === undefined ? undefined : inetPton4(resolved);
  return bytes === undefined ? undefined : ((bytes[0]! << 24) >>> 0) + (bytes[1]! << 16) + (bytes[2]! << 8) + bytes[3]!;
}

const wordBytes = (w: number): number[] => [w >>> 24, (w >>> 16) & 0xff, (w >>> 8) & 0xff, w & 0xff];

/** ipvsadm's parse_service: [v6]:port, v6, v4[:port] (dotted or inet_aton forms), or a resolvable name. */
export function parseHostPort(text: string, protocol: Protocol | null, names: NameService): HostPort | undefined {
  if (isAllDigits(text)) return undefined;
  let host = text;
  let portText: string | null = null;
  if (host[0] === '[') {
    const close = host.indexOf(']');
    if (close < 0 || host[close + 1] !== ':') return undefined;
    portText = host.slice(close + 2);
    host = host.slice(1, close);
  }
  let result: HostPort;
  const v6 = inetPton6(host);
  if (v6) result = { family: 6, bytes: v6, port: null };
  else {
    // Not IPv6 (bracketed or not): the port is after the last ':' of what is left.
    const colon = host.lastIndexOf(':');
    portText = colon >= 0 ? host.slice(colon + 1) : null;
    if (colon >= 0) host = host.slice(0, colon);
    const word = inetAton(host) ?? hostToAddress(host, names);
    if (word === undefined) return undefined;
    result = { family: 4, bytes: wordBytes(word), port: null };
  }
  if (portText !== null) {
    const port = stringToNumber(portText, 0, 65535) ?? (protocol ? names.portOf(portText, protocol) : undefined);
    if (port === undefined) return undefined;
    result.port = port;
  }
  return result;
}

function parseTimeout(text: string | null, min: number): number | ParseFailure {
  if (text === null) return PERSISTENT_DEFAULT;
  return stringToNumber(text, min, MAX_TIMEOUT) ?? usageError(`invalid timeout value \`${text}' specified`);
}

/** Options after the command, handled as read (ipvsadm's second switch). Returns an error or nothing. */
function takeOption(d: Draft, id: string, value: string | null, words: string, badOption: string, names: NameService): ParseFailure | undefined {
  const setOption = (name: OptionName): ParseFailure | undefined => {
    if (d.given.has(name)) return usageError(`multiple '${name}' options specified`);
    d.given.add(name);
    return undefined;
  };
  const arg = value ?? '';
  const numberIn = (min: number, max: number, message: string): number | ParseFailure => stringToNumber(arg, min, max) ?? usageError(message, words);
  const failed = (v: number | ParseFailure): v is ParseFailure => typeof v !== 'number';

  if (Object.hasOwn(FLAG_OPTIONS, id)) {
    const name = FLAG_OPTIONS[id]!;
    const err = setOption(name);
    if (err) return err;
    if (id === 'o') d.svc.onePacket = true;
    if (id.startsWith('tun-') && id !== 'tun-info') d.dest.tunCsum |= TUN_CSUM.indexOf(id.slice(4) as (typeof TUN_CSUM)[number]);
    return undefined;
  }
  switch (id) {
    case 't':
    case 'u':
    case 'sctp-service': {
      const err = setOption('service-address');
      if (err) return err;
      d.svc.protocol = PROTOCOL_OF[id]!;
      const hp = parseHostPort(arg, d.svc.protocol, names);
      if (!hp) return usageError('illegal virtual server address[:port] specified', words);
      d.svc.family = hp.family;
      d.svc.bytes = hp.bytes;
      if (hp.port !== null) d.svc.port = hp.port;
      if (hp.family === 6) d.svc.netmask = 128;
      return undefined;
    }
    case 'f': {
      const err = setOption('service-address');
      if (err) return err;
      d.svc.family = 4;
      d.svc.protocol = 'tcp';
      const mark = stringToNumber(arg, 1, 0xffffffff);
      if (mark === undefined) return usageError(`invalid fwmark value \`${arg}' specified`, words);
      d.svc.fwmark = mark;
      return undefined;
    }
    case 's':
      d.svc.scheduler = arg.slice(0, 15); // IP_VS_SCHEDNAME_MAXLEN - 1
      return setOption('scheduler');
    case 'p': {
      const err = setOption('persistent');
      if (err) return err;
      d.svc.persistent = true;
      const t = parseTimeout(value, 1);
      if (failed(t)) return { ...t, argument: words };
      d.svc.timeout = t;
      return undefined;
    }
    case 'M': {
      const err = setOption('netmask');
      if (err) return err;
      if (d.svc.family !== 6) {
        const mask = inetAton(arg) ?? hostToAddress(arg, names);
        if (mask === undefined) return usageError('illegal virtual server persistent mask specified', words);
        d.svc.netmask = mask;
      } else {
        d.svc.netmask = atoi(arg);
        if (d.svc.netmask < 1 || d.svc.netmask > 128) return usageError('illegal ipv6 netmask specified', words);
      }
      return undefined;
    }
    case 'r': {
      const err = setOption('real-server');
      if (err) return err;
      const hp = parseHostPort(arg, d.svc.protocol, names);
      if (!hp) return usageError('illegal real server address[:port] specified', words);
      d.dest.family = hp.family;
      d.dest.bytes = hp.bytes;
      // No port given: the service's port as known so far.
      d.dest.port = hp.port ?? d.svc.port;
      return undefined;
    }
    case 'g':
    case 'i':
    case 'm':
      d.dest.method = METHOD_OF[id]!;
      return setOption('forwarding-method');
    case 'w': {
      const err = setOption('weight');
      if (err) return err;
      const w = numberIn(0, 65535, 'illegal weight specified');
      if (failed(w)) return w;
      d.dest.weight = w;
      return undefined;
    }
    case 'x':
    case 'y': {
      const err = setOption(id === 'x' ? 'u-threshold' : 'l-threshold');
      if (err) return err;
      const v = numberIn(0, 2147483647, `illegal ${id === 'x' ? 'u' : 'l'}_threshold specified`);
      if (failed(v)) return v;
      if (id === 'x') d.dest.upper = v;
      else d.dest.lower = v;
      return undefined;
    }
    case 'mcast-interface':
      d.daemon.mcastInterface = arg.slice(0, 15); // IP_VS_IFNAME_MAXLEN - 1
      return setOption('mcast-interface');
    case 'syncid': {
      const err = setOption('syncid');
      if (err) return err;
      const v = numberIn(0, 255, 'illegal syncid specified');
      if (failed(v)) return v;
      d.daemon.syncid = v;
      return undefined;
    }
    case 'sort':
      return undefined; // the default; accepted any number of times
    case '6':
      if (d.svc.fwmark === 0) return usageError('-6 used before -f\n', words);
      d.svc.family = 6;
      d.svc.netmask = 128;
      return undefined;
    case 'pe':
      d.svc.pe = arg.slice(0, 16); // IP_VS_PENAME_MAXLEN
      return setOption('pe');
    case 'b':
      d.schedFlagsArg = arg.slice(0, 127); // ipvsadm's 128-byte buffer
      return setOption('sched-flags');
    case 'mcast-group': {
      const err = setOption('mcast-group');
      if (err) return err;
      if (arg.includes(':')) {
        const v6 = inetPton6(arg);
        if (!v6 || v6[0] !== 0xff) return usageError(`invalid IPv6 mcast-group \`${arg}'`, words);
        d.daemon.group = canonicalAddress(6, v6);
      } else {
        const v4 = inetPton4(arg);
        if (!v4 || v4[0]! < 224 || v4[0]! > 239) return usageError(`invalid IPv4 mcast-group \`${arg}'`, words);
        d.daemon.group = v4.join('.');
      }
      return undefined;
    }
    case 'mcast-port':
    case 'mcast-ttl':
    case 'sync-maxlen': {
      const err = setOption(id);
      if (err) return err;
      const max = id === 'mcast-port' ? 65535 : id === 'mcast-ttl' ? 255 : 65535 - 20 - 8;
      const v = numberIn(1, max, `illegal ${id} specified`);
      if (failed(v)) return v;
      if (id === 'mcast-port') d.daemon.port = v;
      else if (id === 'mcast-ttl') d.daemon.ttl = v;
      else d.daemon.maxlen = v;
      return undefined;
    }
    case 'tun-type': {
      const err = setOption('tun-type');
      if (err) return err;
      if (arg !== 'ipip' && arg !== 'gue' && arg !== 'gre') return usageError('illegal tunnel type specified', words);
      d.dest.tunType = arg;
      return undefined;
    }
    case 'tun-port': {
      const err = setOption('tun-port');
      if (err) return err;
      const v = numberIn(1, 65535, 'illegal tunnel port specified');
      if (failed(v)) return v;
      d.dest.tunPort = v;
      return undefined;
    }
    case 'json':
      if (d.json) return usageError("multiple 'json' options specified");
      d.json = true;
      return undefined;
    case 'health':
      if (d.health) return usageError("multiple 'health' options specified");
      d.health = true;
      return undefined;
    default:
      // A command letter (or -h/-v/--set) after the command.
      return usageError(`invalid option \`${badOption}'`);
  }
}

/** The checks process_options makes after parsing, before talking to the kernel. */
function checkDraft(d: Draft, command: CommandName): ParseFailure | undefined {
  const violation = checkCommandOptions(command, d.given);
  if (violation) return usageError(violation);
  const svc = d.svc;
  if (command === 'add-service' || command === 'edit-service') {
    if (svc.fwmark === 0 && svc.port === 0 && !svc.persistent) return usageError('Zero port specified for non-persistent service');
    if (svc.onePacket && svc.fwmark === 0 && svc.protocol !== 'udp') return usageError('One-Packet Scheduling is only for UDP virtual services');
    if (svc.scheduler === '') svc.scheduler = 'wlc';
  }
  if (command === 'add-server' || command === 'edit-server') {
    const dest = d.dest;
    // DR and tunnelling keep the packet's port: the server port is the service port.
    if (svc.fwmark === 0 && (dest.method === 'dr' || dest.method === 'tun')) dest.port = svc.port;
    if (dest.family !== svc.family && dest.method !== 'tun') return usageError('Different address family is allowed only for tunneling servers');
    const tunnelOptions = (['tun-type', 'tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum'] as const).some((o) => d.given.has(o));
    if (tunnelOptions && dest.method !== 'tun') return usageError('Tunnel options conflict with forward method');
    const tunnelViolation = checkTunnelOptions(dest.tunType, d.given);
    if (tunnelViolation) return usageError(tunnelViolation);
  }
  if (command === 'list') {
    const has = (...names: OptionName[]): boolean => names.some((n) => d.given.has(n));
    if ((has('connection', 'timeout', 'daemon') && has('stats', 'rate', 'thresholds')) || (has('timeout', 'daemon') && has('persistent-conn')))
      return usageError('options conflicts in the list command');
  }
  if (d.json && command !== 'list') return usageError(`Illegal 'json' option with the '${command}' command`);
  if (d.health && command !== 'list') return usageError(`Illegal 'health' option with the '${command}' command`);
  return undefined;
}

function buildCommand(d: Draft, command: CommandName): Command {
  const service = d.serviceAddress();
  const server = { address: canonicalAddress(d.dest.family === 6 ? 6 : 4, d.dest.bytes), port: d.dest.port, family: (d.dest.family === 6 ? 6 : 4) as Family };
  const s = d.svc;
  switch (command) {
    case 'add-service':
    case 'edit-service':
      return {
        kind: command,
        service,
        options: {
          scheduler: s.scheduler,
          persistent: s.persistent ? s.timeout : 0,
          netmask: s.family === 6 ? String(s.netmask) : ip4Text(s.netmask >>> 0),
          schedFlags: flagNames(s.scheduler, s.flagBits),
          onePacket: s.onePacket,
          pe: s.pe,
        },
      };
    case 'delete-service':
      return { kind: command, service };
    case 'add-server':
    case 'edit-server': {
      const dest = d.dest;
      const tunnel =
        dest.method !== 'tun'
          ? {}
          : dest.tunType === 'ipip'
            ? { tunType: dest.tunType }
            : { tunType: dest.tunType, ...(dest.tunType === 'gue' ? { tunPort: dest.tunPort } : {}), tunCsum: TUN_CSUM[dest.tunCsum] ?? 'nocsum' };
      return { kind: command, service, server: { ...server, method: dest.method, weight: dest.weight, upper: dest.upper, lower: dest.lower, ...tunnel } };
    }
    case 'delete-server':
      return { kind: command, service, server };
    case 'list': {
      const g = (n: OptionName): boolean => d.given.has(n);
      const format: ListFormat = {
        numeric: g('numeric'), stats: g('stats'), rate: g('rate'), thresholds: g('thresholds'), persistentConn: g('persistent-conn'),
        tunInfo: g('tun-info'), exact: g('exact'), nosort: g('nosort'), json: d.json, health: d.health,
      };
      const view = g('connection') ? 'connections' : g('service-address') ? 'service' : g('timeout') ? 'timeout' : g('daemon') ? 'daemon' : 'all';
      return { kind: 'list', view, format, ...(view === 'service' ? { service } : {}) };
    }
    case 'zero': {
      // libipvs sends "zero everything" for a service with no mark, the any address and port 0.
      const any = s.fwmark === 0 && s.port === 0 && s.bytes.every((b) => b === 0);
      return { kind: 'zero', ...(d.given.has('service-address') && !any ? { service } : {}) };
    }
    case 'set':
      return { kind: 'set', timeouts: { ...d.timeouts } };
    case 'start-daemon':
      return { kind: 'start-daemon', daemon: { ...d.daemon, mcastInterface: d.daemon.mcastInterface || 'eth0' } };
    case 'stop-daemon':
      return { kind: 'stop-daemon', state: d.daemon.state, syncid: d.daemon.syncid };
    case 'save':
      return { kind: 'save', numeric: d.given.has('numeric') };
    case 'flush':
    case 'restore':
      return { kind: command };
  }
}

/**
 * Parse an ipvsadm command line. argv excludes the program name; an empty argv is ipvsadm
 * with no arguments (list everything, resolving names). On failure print
 * `message + "\n"` to stderr and exit with exitCode.
 */
export function parseArgs(argv: readonly string[], options: ParseOptions = {}): ParseResult {
  const prog = options.prog ?? 'ipvsadm';
  const names = options.names ?? builtinNames;
  const tryHelpFailure: ParseFailure = { ok: false, message: tryHelp(prog), exitCode: 255, stopsRestore: true };
  if (argv.length === 0) {
    const format: ListFormat = { numeric: false, stats: false, rate: false, thresholds: false, persistentConn: false, tunInfo: false, exact: false, nosort: false, json: false, health: false };
    return { ok: true, command: { kind: 'list', view: 'all', format } };
  }
  const scanner = new PoptScanner([prog, ...argv], OPTIONS);
  const first = scanner.nextOption();
  if (first.type !== 'option') return tryHelpFailure;
  const d = new Draft();
  switch (first.option.id) {
    case 'h':
      return { ok: true, command: { kind: 'help' } };
    case 'v':
      return { ok: true, command: { kind: 'version' } };
    case 'start-daemon':
    case 'stop-daemon':
      if (first.value !== 'master' && first.value !== 'backup')
        return usageError(first.option.id === 'start-daemon' ? 'illegal start-daemon parameter specified' : 'illegal start_daemon specified', first.words);
      d.daemon.state = first.value;
      break;
    default:
      if (!Object.hasOwn(COMMAND_OF, first.option.id)) return tryHelpFailure;
  }
  const command = COMMAND_OF[first.option.id]!;

  for (;;) {
    const ev = scanner.nextOption();
    if (ev.type === 'end') break;
    // popt's own errors: printed, and the line fails (255) without ending a -R run.
    if (ev.type === 'error') return { ok: false, message: `${ev.badOption}: ${ev.error}`, exitCode: 255, stopsRestore: false };
    const err = takeOption(d, ev.option.id, ev.value, ev.words, scanner.badOption(), names);
    if (err) return err;
  }

  const leftovers = [...scanner.leftovers];
  if (command === 'set') {
    if (leftovers.length < 3) return usageError('--set option requires 3 timeout values');
    const values: number[] = [];
    for (const text of leftovers.splice(0, 3)) {
      const t = parseTimeout(text, 0);
      if (typeof t !== 'number') return { ...t, argument: text };
      values.push(t);
    }
    d.timeouts = { tcp: values[0]!, tcpfin: values[1]!, udp: values[2]! };
  }
  if (leftovers.length > 0) return usageError(`unexpected argument ${leftovers[0]}`, leftovers[0]);
  if (d.schedFlagsArg !== '') {
    const flags = parseSchedFlags(d.svc.scheduler, d.schedFlagsArg);
    if ('error' in flags) return usageError(flags.error, `-b ${d.schedFlagsArg}`);
    d.svc.flagBits = flags.bits;
  }
  const problem = checkDraft(d, command);
  if (problem) return problem;
  if (command === 'restore' && options.readingStdin) return tryHelpFailure;
  return { ok: true, command: buildCommand(d, command) };
}
