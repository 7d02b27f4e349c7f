// keepalived.conf (keepalived.conf(5), keepalived's check_parser.c / vrrp_parser.c; reference:
// keepalived.md): the LVS subset — virtual_server, real_server, virtual_server_group, the
// health checkers — and what a director needs from VRRP (virtual_ipaddress, interface),
// loaded into the service table.
//
// Grammar: tokens separated by blanks, `"`/`'` quoting, comments from `#` or `!` to the end
// of the line, blocks `keyword args {` ... `}` (braces are tokens of their own, so
// `url { path / }` on one line works), `include FILE` (and includer/includem/...; `*` and
// `?` in the file name) relative to the including file, through an injectable reader.
// Unknown keywords are warnings, as keepalived logs and goes on; malformed syntax (braces,
// missing or bad values) is an error naming file:line and what was expected.
//
// Mapping:
//   virtual_server IP PORT | fwmark N | group NAME -> one VirtualService per address (groups expand)
//   lvs_sched/lb_algo -> scheduler; lvs_method/lb_kind -> each server's method (+ tunnel options)
//   persistence_timeout/_granularity/_engine -> persistent/netmask/pe; ops, flag-N, sh-*/mh-* -> onePacket/schedFlags
//   sorry_server -> sorryServer; inhibit_on_failure -> quiesce (service, or server override)
//   real_server: weight, uthreshold/lthreshold -> weight, upper/lower; checkers -> health (+ additionalHealth),
//     timings resolved checker <- real_server <- virtual_server <- keepalived default
//   quorum, hysteresis, omega, ha_suspend, quorum_up/down... -> service health.extra (kind none);
//   notify_up/down, alpha, warmup, delay_before_retry, checker options -> the check's extra (stored)
//   global_defs lvs_timeouts -> timeouts; vrrp_instance interface / virtual_ipaddress -> director
//   interfaces, floating, owned; vrrp_instance/vrrp_sync_group/vrrp_script and the VRRP/sync
//   keys of global_defs -> director.ha as "block name.keyword" -> raw value.
// Two keepalived defaults differ from ipvsadm's and are warned about when relied on: protocol
// (keepalived now takes UDP) and lvs_method (NAT).

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, isAbsolute, basename } from 'node:path';
import ipaddr from 'ipaddr.js';
import type { Family, FloatingAddress, HealthCheck, Method, Protocol, RealServer, ServiceTable, VirtualService } from './model.js';
import { DEFAULT_PERSISTENT_TIMEOUT, emptyTable, newServer, newService, serviceKey } from './model.js';
import { configError, netmaskOfPrefix, parseAddress, parseInteger, parseIpv4Mask, parsePort, shown, splitLine, type Token } from './values.js';

export interface KeepalivedOptions {
  /** Reads an included file (default: the file system). */
  readFile?: (path: string) => string;
  /** Lists a directory, for `include` globs (default: the file system). */
  listDir?: (dir: string) => string[];
  /** How deep includes may nest (default 8): a cycle stops here. */
  maxIncludeDepth?: number;
}

export interface KeepalivedResult {
  table: ServiceTable;
  /** What keepalived would log and go on from: unknown keywords, defaults relied on, ports ignored. */
  warnings: string[];
}

const MAX_SECONDS = 2678400;
/** Files one configuration may pull in, whatever globs match. */
const MAX_INCLUDED_FILES = 256;
/** Block nesting bound (keepalived's deepest is about 5). */
const MAX_NESTING = 32;
/** Addresses one group entry (range or CIDR) may expand to. */
const MAX_RANGE = 256;
const INCLUDE_WORDS = new Set(['include', 'includer', 'includem', 'includew', 'includeb', 'includea']);

interface Word extends Token {
  where: string;
}

interface Statement {
  words: Word[];
  where: string;
  block?: Statement[];
}

// ---------------------------------------------------------------------------------------------
// Lexing (with includes) and the block tree

interface LexState {
  opts: Required<KeepalivedOptions>;
  included: number;
  warnings: string[];
}

/** Appends the file's tokens to `out`, one `null` per line end; includes are spliced in. */
function lex(text: string, file: string, depth: number, state: LexState, out: (Word | null)[]): void {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const where = `${file}:${i + 1}`;
    const tokens = splitLine(lines[i]!, where, { comment: '#!', splitBraces: true });
    const first = tokens[0];
    if (first && !first.quoted && INCLUDE_WORDS.has(first.text)) {
      if (tokens.length !== 2) throw configError(where, `${first.text}: expected one file name (${first.text} FILE)`);
      if (depth >= state.opts.maxIncludeDepth) throw configError(where, `${first.text}: includes nest deeper than ${state.opts.maxIncludeDepth} (an include cycle?)`);
      for (const path of includedFiles(tokens[1]!.text, file, where, state)) {
        if (++state.included > MAX_INCLUDED_FILES) throw configError(where, `${first.text}: more than ${MAX_INCLUDED_FILES} included files`);
        let content: string;
        try {
          content = state.opts.readFile(path);
        } catch (err) {
          throw configError(where, `${first.text}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
        lex(content, path, depth + 1, state, out);
      }
      continue;
    }
    for (const t of tokens) out.push({ ...t, where });
    out.push(null);
  }
}

/** The files an include names, relative to the including file; `*` and `?` in the file name match a directory listing. */
function includedFiles(pattern: string, file: string, where: string, state: LexState): string[] {
  const path = isAbsolute(pattern) ? pattern : join(dirname(file), pattern);
  if (!/[*?]/.test(path)) return [path];
  const dir = dirname(path);
  if (/[*?]/.test(dir)) throw configError(where, `include: wildcards are supported in the file name only, not in ${shown(dir)}`);
  const re = new RegExp(`^${basename(path).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
  let names: string[];
  try {
    names = state.opts.listDir(dir);
  } catch {
    names = [];
  }
  const matched = names.filter((n) => re.test(n)).sort().map((n) => join(dir, n));
  if (matched.length === 0) state.warnings.push(`${where}: include: no file matches ${shown(pattern)}`);
  return matched;
}

/** Builds the statement tree from the token stream (`null` = line end). */
function parseTree(tokens: (Word | null)[], file: string): Statement[] {
  const root: Statement[] = [];
  const stack: { list: Statement[]; opener?: Statement }[] = [{ list: root }];
  let words: Word[] = [];
  const flush = (): void => {
    if (words.length > 0) stack[stack.length - 1]!.list.push({ words, where: words[0]!.where });
    words = [];
  };
  for (const t of tokens) {
    if (t === null) flush();
    else if (!t.quoted && t.text === '{') {
      if (words.length === 0) throw configError(t.where, 'unexpected {: a block opens after its keyword on the same line (keyword ... {)');
      const opener: Statement = { words, where: words[0]!.where, block: [] };
      stack[stack.length - 1]!.list.push(opener);
      words = [];
      if (stack.length > MAX_NESTING) throw configError(t.where, `blocks nested deeper than ${MAX_NESTING}`);
      stack.push({ list: opener.block!, opener });
    } else if (!t.quoted && t.text === '}') {
      flush();
      if (stack.length === 1) throw configError(t.where, 'unexpected }: no block is open');
      stack.pop();
    } else words.push(t);
  }
  flush();
  if (stack.length > 1) {
    const open = stack[stack.length - 1]!.opener!;
    throw configError(open.where, `unexpected end of file in ${file}: the block ${shown(statementText(open))} opened here is not closed (expected })`);
  }
  return root;
}

/** A statement's words as written (blanks collapsed). */
function statementText(s: Statement): string {
  return s.words.map((w) => w.text).join(' ');
}

// ---------------------------------------------------------------------------------------------
// Statement helpers

function keyword(s: Statement): string {
  return s.words[0]!.text;
}

/** The arguments, min..max of them, as text; `usage` says what was expected. */
function args(s: Statement, min: number, max: number, usage: string): string[] {
  const a = s.words.slice(1).map((w) => w.text);
  if (a.length < min) throw configError(s.where, `${keyword(s)}: missing value (expected ${usage})`);
  if (a.length > max) throw configError(s.where, `${keyword(s)}: unexpected ${shown(a[max]!)} (expected ${usage})`);
  if (s.block) throw configError(s.where, `${keyword(s)}: takes no block (expected ${usage})`);
  return a;
}

function block(s: Statement): Statement[] {
  if (!s.block) throw configError(s.where, `${keyword(s)}: expected a block ({ on the same line)`);
  return s.block;
}

function one(s: Statement, usage: string): string {
  return args(s, 1, 1, usage)[0]!;
}

function integer(s: Statement, min: number, max: number): number {
  return parseInteger(one(s, `an integer ${min}..${max}`), s.where, keyword(s), min, max);
}

/** <TIMER>: seconds, fractions allowed (`2.5`). */
function seconds(s: Statement): number {
  const text = one(s, 'seconds');
  if (!/^[0-9]{1,9}(\.[0-9]{1,6})?$/.test(text)) throw configError(s.where, `${keyword(s)}: expected seconds (e.g. 5 or 2.5), got ${shown(text)}`);
  return Number(text);
}

/** <BOOL>, the keyword alone meaning on. */
function flag(s: Statement): boolean {
  const [v] = args(s, 0, 1, 'on/off, true/false or yes/no (or nothing)');
  if (v === undefined) return true;
  const lower = v.toLowerCase();
  if (['on', 'true', 'yes'].includes(lower)) return true;
  if (['off', 'false', 'no'].includes(lower)) return false;
  throw configError(s.where, `${keyword(s)}: expected on/off, true/false or yes/no, got ${shown(v)}`);
}

function unknown(warnings: string[], s: Statement, where: string): void {
  warnings.push(`${s.where}: unknown keyword ${shown(keyword(s))} in ${where} (ignored)`);
}

/** Stores statements as `prefix + keyword` -> raw value; a block of plain lines becomes one value, a line each. */
function flatten(into: Record<string, string>, prefix: string, list: Statement[]): void {
  for (const s of list) {
    const name = s.block ? statementText(s) : keyword(s);
    if (s.block && s.block.some((c) => c.block)) {
      flatten(into, `${prefix}${name}.`, s.block);
      continue;
    }
    const value = s.block ? s.block.map(statementText).join('\n') : s.words.slice(1).map((w) => w.text).join(' ');
    const key = `${prefix}${name}`;
    into[key] = into[key] === undefined ? value : `${into[key]}\n${value}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Loading

/** Loads keepalived.conf text; `file` names it in errors and anchors relative includes. */
export function loadKeepalived(text: string, file: string, options: KeepalivedOptions = {}): KeepalivedResult {
  const opts: Required<KeepalivedOptions> = {
    readFile: options.readFile ?? ((p) => readFileSync(p, 'utf8')),
    listDir: options.listDir ?? ((d) => readdirSync(d)),
    maxIncludeDepth: options.maxIncludeDepth ?? 8,
  };
  const state: LexState = { opts, included: 0, warnings: [] };
  const tokens: (Word | null)[] = [];
  lex(text, file, 0, state, tokens);
  const tree = parseTree(tokens, file);
  const loader = new Loader(state.warnings);
  loader.load(tree);
  return { table: loader.table, warnings: [...new Set(state.warnings)] };
}

/** Top-level blocks keepalived knows that say nothing about the service table or the director's addresses. */
const IGNORED_TOP = new Set(['static_ipaddress', 'static_routes', 'static_rules', 'SSL', 'bfd_instance', 'linkbeat_interfaces', 'garp_group', 'vrrp_track_process', 'vrrp_track_file', 'track_file', 'track_process', 'net_namespace', 'net_namespace_ipvs', 'namespace_with_ipsets', 'instance', 'use_pid_dir', 'child_wait_time', 'vrrp_track_bfd']);
/** global_defs keys that concern failover or the sync daemon (the rest is mail, SNMP, scripts...). */
const GLOBAL_HA = /^(router_id|lvs_sync_daemon|lvs_flush|lvs_flush_on_stop|vrrp_.*|enable_script_security|script_user)$/;

interface GroupMember {
  address: string;
  family: Family;
  port?: number;
  fwmark: number;
  where: string;
}

/** Timings a checker inherits from its real server, and that from its virtual server. */
interface Timing {
  delayLoop?: number;
  connectTimeout?: number;
  retry?: number;
  delayBeforeRetry?: number;
  warmup?: number;
  alpha?: boolean;
  virtualhost?: string;
}

interface MethodSpec {
  method: Method;
  tunType?: 'ipip' | 'gue' | 'gre';
  tunPort?: number;
  tunCsum?: 'nocsum' | 'csum' | 'remcsum';
}

/** What a virtual_server block says, before it is laid onto each of its addresses. */
interface VirtualSpec {
  stmt: Statement;
  protocol?: Protocol;
  family?: Family;
  timing: Timing;
  method?: MethodSpec;
  weight?: number;
  quiesce: boolean;
  scheduler?: string;
  persistent?: number;
  netmask?: string;
  pe?: string;
  onePacket: boolean;
  schedFlags: string[];
  sorry?: { address: string; port?: number };
  extra: Record<string, string>;
  servers: ServerSpec[];
}

interface ServerSpec {
  address: string;
  family: Family;
  port?: number;
  where: string;
  timing: Timing;
  method?: MethodSpec;
  weight?: number;
  quiesce?: boolean;
  upper: number;
  lower: number;
  extra: Record<string, string>;
  checks: CheckSpec[];
}

interface CheckSpec {
  type: string;
  where: string;
  timing: Timing;
  port?: number;
  /** Checker-specific fields. */
  fields: Partial<HealthCheck>;
  urls: { fields: Partial<HealthCheck>; extra: Record<string, string>; virtualhost?: string }[];
  extra: Record<string, string>;
}

const CHECKER_KIND: Record<string, HealthCheck['kind']> = {
  TCP_CHECK: 'tcp',
  HTTP_GET: 'http',
  SSL_GET: 'https',
  MISC_CHECK: 'external',
  PING_CHECK: 'icmp',
  // SMTP servers take a TCP connection first; the dialogue is in extra (helo_name).
  SMTP_CHECK: 'tcp',
  // uvs's own: HAProxy-style agent feedback (docs/health-agent.md): `AGENT_CHECK { connect_port 9002 }`.
  AGENT_CHECK: 'tcp',
  // uvs has no checker of these: stored (checker names them) and not run.
  DNS_CHECK: 'none',
  UDP_CHECK: 'none',
  FILE_CHECK: 'none',
  BFD_CHECK: 'none',
};
/** keepalived's `retry` default per checker (1 otherwise). */
const DEFAULT_RETRY: Record<string, number> = { MISC_CHECK: 0, DNS_CHECK: 3 };
const DEFAULT_DELAY_LOOP = 60;
const DEFAULT_CONNECT_TIMEOUT = 5;

const SCHED_FLAGS = new Set(['flag-1', 'flag-2', 'flag-3', 'sh-port', 'sh-fallback', 'mh-port', 'mh-fallback']);
/** virtual_server keywords stored in health.extra (quorum and notification machinery the health issue runs). */
const VS_STORED = new Set(['quorum', 'hysteresis', 'quorum_up', 'quorum_down', 'omega', 'ha_suspend', 'smtp_alert', 'snmp_name', 'sorry_server_inhibit', 'sorry_server_lvs_method']);
/** real_server keywords stored in its health.extra. */
const RS_STORED = new Set(['notify_up', 'notify_down', 'smtp_alert', 'snmp_name']);

class Loader {
  readonly table = emptyTable();
  private readonly groups = new Map<string, { members: GroupMember[]; where: string }>();
  private readonly ha: Record<string, string> = {};
  private readonly floating: FloatingAddress[] = [];
  private readonly interfaces: string[] = [];

  constructor(private readonly warnings: string[]) {}

  load(tree: Statement[]): void {
    const virtualServers: Statement[] = [];
    for (const s of tree) {
      const kw = keyword(s);
      if (kw === 'global_defs') this.globalDefs(block(s));
      else if (kw === 'vrrp_instance') this.vrrpInstance(s);
      else if (kw === 'vrrp_sync_group' || kw === 'vrrp_script') {
        blockName(s, `${kw} NAME {`);
        flatten(this.ha, `${statementText(s)}.`, block(s));
      } else if (kw === 'virtual_server_group') this.group(s);
      else if (kw === 'virtual_server') virtualServers.push(s);
      else if (!IGNORED_TOP.has(kw)) unknown(this.warnings, s, 'the top level');
    }
    // Groups may be defined after the virtual servers using them.
    for (const s of virtualServers) this.virtualServer(s);
    const d = this.table.director;
    if (this.floating.length > 0) d.floating = this.floating;
    if (this.interfaces.length > 0) d.interfaces = this.interfaces;
    if (Object.keys(this.ha).length > 0) d.ha = this.ha;
  }

  private globalDefs(list: Statement[]): void {
    for (const s of list) {
      const kw = keyword(s);
      if (kw === 'lvs_timeouts') this.lvsTimeouts(s);
      else if (GLOBAL_HA.test(kw)) flatten(this.ha, 'global_defs.', [s]);
      // The rest of global_defs (mail, SNMP, scripts, namespaces...) is parsed and ignored.
    }
  }

  /** `lvs_timeouts [tcp S] [tcpfin S] [udp S]`. */
  private lvsTimeouts(s: Statement): void {
    const a = args(s, 2, 6, 'tcp S, tcpfin S, udp S');
    for (let i = 0; i < a.length; i += 2) {
      const name = a[i]!;
      if (name !== 'tcp' && name !== 'tcpfin' && name !== 'udp') throw configError(s.where, `lvs_timeouts: expected tcp, tcpfin or udp, got ${shown(name)}`);
      if (a[i + 1] === undefined) throw configError(s.where, `lvs_timeouts: missing seconds after ${name}`);
      this.table.timeouts[name] = parseInteger(a[i + 1]!, s.where, `lvs_timeouts ${name}`, 0, MAX_SECONDS);
    }
  }

  private vrrpInstance(s: Statement): void {
    const name = blockName(s, 'vrrp_instance NAME {');
    const list = block(s);
    const iface = list.find((c) => keyword(c) === 'interface');
    const device = iface ? one(iface, 'an interface name') : undefined;
    if (device !== undefined && !this.interfaces.includes(device)) this.interfaces.push(device);
    const rest: Statement[] = [];
    for (const c of list) {
      const kw = keyword(c);
      if (kw === 'virtual_ipaddress' || kw === 'virtual_ipaddress_excluded') for (const e of block(c)) this.virtualAddress(e, name, device);
      else rest.push(c);
    }
    flatten(this.ha, `vrrp_instance ${name}.`, rest);
  }

  /** `IP[/LEN] [brd IP] [dev IF] [scope S] [label IF:N] ...`. */
  private virtualAddress(e: Statement, instance: string, instanceDevice: string | undefined): void {
    if (e.block) throw configError(e.where, `virtual_ipaddress: an address takes no block`);
    const words = e.words.map((w) => w.text);
    const slash = words[0]!.indexOf('/');
    const len = slash >= 0 ? words[0]!.slice(slash + 1) : undefined;
    const { address, family } = parseAddress(slash >= 0 ? words[0]!.slice(0, slash) : words[0]!, e.where, 'virtual_ipaddress');
    const f: FloatingAddress = { address };
    if (len !== undefined) f.netmask = netmaskOfPrefix(parseInteger(len, e.where, 'virtual_ipaddress prefix length', 0, family === 4 ? 32 : 128), family);
    for (let i = 1; i < words.length; i++) {
      const option = words[i]!;
      if (!['dev', 'label', 'brd', 'scope', 'peer', 'metric', 'preferred_lft', 'track_group'].includes(option)) continue;
      const value = words[++i];
      if (value === undefined) throw configError(e.where, `virtual_ipaddress: missing value after ${option}`);
      if (option === 'dev') f.device = value;
      if (option === 'label') f.label = value;
    }
    f.device ??= instanceDevice;
    if (f.device === undefined) delete f.device;
    else if (!this.interfaces.includes(f.device)) this.interfaces.push(f.device);
    f.instance = instance;
    f.origin = e.where;
    this.floating.push(f);
    if (!this.table.director.owned.includes(address)) this.table.director.owned.push(address);
  }

  /** `virtual_server_group NAME { IP[-END|/LEN] [PORT] ... fwmark N ... }`. */
  private group(s: Statement): void {
    const name = blockName(s, 'virtual_server_group NAME {');
    const seen = this.groups.get(name);
    if (seen) throw configError(s.where, `virtual_server_group ${name}: defined twice (first at ${seen.where})`);
    const members: GroupMember[] = [];
    for (const e of block(s)) {
      if (e.block) throw configError(e.where, 'virtual_server_group: an entry takes no block');
      const words = e.words.map((w) => w.text);
      if (words[0] === 'fwmark') {
        if (words.length !== 2) throw configError(e.where, 'virtual_server_group: expected fwmark N');
        members.push({ address: '', family: 4, fwmark: parseInteger(words[1]!, e.where, 'fwmark', 1, 0xffffffff), where: e.where });
        continue;
      }
      if (words.length > 2) throw configError(e.where, `virtual_server_group: unexpected ${shown(words[2]!)} (expected IP[-LAST|/LEN] [PORT])`);
      const port = words[1] === undefined ? undefined : parsePort(words[1], e.where, 'port');
      for (const { address, family } of expandRange(words[0]!, e.where)) members.push({ address, family, ...(port !== undefined ? { port } : {}), fwmark: 0, where: e.where });
    }
    this.groups.set(name, { members, where: s.where });
  }

  private virtualServer(s: Statement): void {
    const head = s.words.slice(1).map((w) => w.text);
    const spec = this.virtualSpec(s);
    if (head[0] === 'group') {
      if (head.length !== 2) throw configError(s.where, 'virtual_server: expected virtual_server group NAME {');
      const group = this.groups.get(head[1]!);
      if (!group) throw configError(s.where, `virtual_server group ${head[1]}: no virtual_server_group ${shown(head[1]!)} is defined`);
      for (const m of group.members) this.addService(spec, m, head[1]!);
    } else if (head[0] === 'fwmark') {
      if (head.length !== 2) throw configError(s.where, 'virtual_server: expected virtual_server fwmark N {');
      this.addService(spec, { address: '', family: spec.family ?? 4, fwmark: parseInteger(head[1]!, s.where, 'fwmark', 1, 0xffffffff), where: s.where });
    } else {
      if (head.length < 1 || head.length > 2) throw configError(s.where, 'virtual_server: expected virtual_server IP [PORT] {, fwmark N { or group NAME {');
      const { address, family } = parseAddress(head[0]!, s.where, 'virtual_server');
      const port = head[1] === undefined ? undefined : parsePort(head[1], s.where, 'virtual_server port');
      this.addService(spec, { address, family, ...(port !== undefined ? { port } : {}), fwmark: 0, where: s.where });
    }
  }

  private virtualSpec(s: Statement): VirtualSpec {
    const spec: VirtualSpec = { stmt: s, timing: {}, quiesce: false, onePacket: false, schedFlags: [], extra: {}, servers: [] };
    for (const c of block(s)) {
      const kw = keyword(c);
      if (kw === 'real_server') spec.servers.push(this.serverSpec(c));
      else if (kw === 'lvs_sched' || kw === 'lb_algo') spec.scheduler = one(c, 'a scheduler name');
      else if (kw === 'lvs_method' || kw === 'lb_kind') spec.method = methodSpec(c);
      else if (kw === 'protocol') spec.protocol = protocolOf(c);
      else if (kw === 'persistence_timeout') {
        const [v] = args(c, 0, 1, 'seconds, or nothing for 360');
        spec.persistent = v === undefined ? DEFAULT_PERSISTENT_TIMEOUT : parseInteger(v, c.where, kw, 0, MAX_SECONDS);
      } else if (kw === 'persistence_granularity') {
        const v = one(c, 'a dotted IPv4 netmask or an IPv6 prefix length');
        spec.netmask = /^[0-9]+$/.test(v) ? String(parseInteger(v, c.where, kw, 1, 128)) : parseIpv4Mask(v, c.where, kw);
      } else if (kw === 'persistence_engine') spec.pe = one(c, 'a persistence engine name (sip)');
      else if (kw === 'sorry_server') {
        const [a, p] = args(c, 1, 2, 'IP [PORT]');
        spec.sorry = { address: parseAddress(a!, c.where, kw).address, ...(p !== undefined ? { port: parsePort(p, c.where, `${kw} port`) } : {}) };
      } else if (kw === 'weight') spec.weight = integer(c, 0, 65535);
      else if (kw === 'ops') spec.onePacket = flag(c);
      else if (SCHED_FLAGS.has(kw)) {
        if (flag(c) && !spec.schedFlags.includes(kw)) spec.schedFlags.push(kw);
      } else if (kw === 'ip_family') {
        const v = one(c, 'inet or inet6');
        if (v !== 'inet' && v !== 'inet6') throw configError(c.where, `ip_family: expected inet or inet6, got ${shown(v)}`);
        spec.family = v === 'inet' ? 4 : 6;
      } else if (kw === 'inhibit_on_failure') spec.quiesce = flag(c);
      else if (timingKeyword(c, spec.timing)) continue;
      else if (VS_STORED.has(kw)) spec.extra[kw] = args(c, 0, 8, 'a value').join(' ');
      else unknown(this.warnings, c, 'virtual_server');
    }
    return spec;
  }

  private serverSpec(s: Statement): ServerSpec {
    const [a, p] = blockArgs(s, 1, 2, 'real_server IP [PORT] {');
    const { address, family } = parseAddress(a!, s.where, 'real_server');
    const spec: ServerSpec = { address, family, where: s.where, timing: {}, upper: 0, lower: 0, extra: {}, checks: [] };
    if (p !== undefined) spec.port = parsePort(p, s.where, 'real_server port');
    for (const c of block(s)) {
      const kw = keyword(c);
      if (Object.hasOwn(CHECKER_KIND, kw)) spec.checks.push(this.checkSpec(c));
      else if (kw === 'weight') spec.weight = integer(c, 0, 65535);
      else if (kw === 'lvs_method' || kw === 'lb_kind') spec.method = methodSpec(c);
      else if (kw === 'inhibit_on_failure') spec.quiesce = flag(c);
      else if (kw === 'uthreshold') spec.upper = integer(c, 0, 0x7fffffff);
      else if (kw === 'lthreshold') spec.lower = integer(c, 0, 0x7fffffff);
      else if (timingKeyword(c, spec.timing)) continue;
      else if (RS_STORED.has(kw)) spec.extra[kw] = args(c, 0, 8, 'a value').join(' ');
      else unknown(this.warnings, c, 'real_server');
    }
    return spec;
  }

  private checkSpec(s: Statement): CheckSpec {
    const type = keyword(s);
    blockArgs(s, 0, 0, `${type} {`);
    const spec: CheckSpec = { type, where: s.where, timing: {}, fields: {}, urls: [], extra: {} };
    for (const c of block(s)) {
      const kw = keyword(c);
      if (kw === 'connect_port') spec.port = parsePort(one(c, 'a port'), c.where, kw);
      else if (kw === 'connect_ip' || kw === 'bindto') spec.extra[kw] = parseAddress(one(c, 'an address'), c.where, kw).address;
      else if (kw === 'bind_port') spec.extra[kw] = String(parsePort(one(c, 'a port'), c.where, kw));
      else if (kw === 'fwmark') spec.extra[kw] = String(integer(c, 0, 0xffffffff));
      else if (kw === 'bind_if') spec.extra[kw] = one(c, 'an interface name');
      else if (kw === 'log_all_failures') spec.extra[kw] = String(flag(c));
      else if (kw === 'nb_get_retry') spec.timing.retry = integer(c, 0, 0x7fffffff);
      else if (timingKeyword(c, spec.timing)) continue;
      else if (!this.checkerField(spec, c)) unknown(this.warnings, c, type);
    }
    if ((type === 'HTTP_GET' || type === 'SSL_GET') && spec.urls.length === 0) this.warnings.push(`${s.where}: ${type} without a url block: checked as GET /`);
    if (type === 'MISC_CHECK' && spec.fields.program === undefined) throw configError(s.where, 'MISC_CHECK: missing misc_path (the program to run)');
    return spec;
  }

  /** The keywords of one checker type; false if `c` is none of them. */
  private checkerField(spec: CheckSpec, c: Statement): boolean {
    const kw = keyword(c);
    const http = spec.type === 'HTTP_GET' || spec.type === 'SSL_GET';
    if (http && kw === 'url') spec.urls.push(this.url(c));
    else if (http && ['http_protocol', 'sni_name'].includes(kw)) spec.extra[kw] = one(c, 'a value');
    else if (http && ['fast_recovery', 'enable_sni', 'tls_compliant'].includes(kw)) spec.extra[kw] = String(flag(c));
    else if (spec.type === 'MISC_CHECK' && kw === 'misc_path') spec.fields.program = args(c, 1, 64, 'a command line').join(' ');
    else if (spec.type === 'MISC_CHECK' && kw === 'misc_timeout') spec.fields.timeout = seconds(c);
    else if (spec.type === 'MISC_CHECK' && kw === 'misc_dynamic') spec.extra[kw] = String(flag(c));
    else if (spec.type === 'MISC_CHECK' && kw === 'user') spec.extra[kw] = args(c, 1, 2, 'USER [GROUP]').join(' ');
    else if (spec.type === 'SMTP_CHECK' && kw === 'helo_name') spec.extra[kw] = one(c, 'a host name');
    else if (spec.type === 'DNS_CHECK' && (kw === 'type' || kw === 'name')) spec.extra[kw] = one(c, 'a value');
    else if (spec.type === 'UDP_CHECK' && ['payload', 'require_reply', 'min_reply_length', 'max_reply_length'].includes(kw)) spec.extra[kw] = args(c, 0, 1, 'a value').join(' ');
    else if (spec.type === 'FILE_CHECK' && ['track_file', 'dynamic', 'weight'].includes(kw)) spec.extra[kw] = args(c, 0, 3, 'a value').join(' ');
    else if (spec.type === 'BFD_CHECK' && kw === 'name') spec.extra[kw] = one(c, 'a BFD instance name');
    else return false;
    return true;
  }

  /** `url { path P; status_code N|A-B ...; digest HEX; virtualhost H; regex R; ... }`. */
  private url(s: Statement): CheckSpec['urls'][number] {
    const url: CheckSpec['urls'][number] = { fields: {}, extra: {} };
    for (const c of block(s)) {
      const kw = keyword(c);
      if (kw === 'path') url.fields.path = one(c, 'a URL path');
      else if (kw === 'digest') {
        const d = one(c, 'an MD5 digest in hex');
        if (!/^[0-9a-fA-F]{32}$/.test(d)) throw configError(c.where, `digest: expected 32 hex digits (MD5, as genhash prints), got ${shown(d)}`);
        url.fields.digest = d.toLowerCase();
      } else if (kw === 'status_code') {
        const codes = args(c, 1, 32, 'HTTP status codes or ranges (200 or 200-299)');
        for (const code of codes) if (!/^[1-5][0-9][0-9](-[1-5][0-9][0-9])?$/.test(code)) throw configError(c.where, `status_code: expected a status code 100..599 or a range such as 200-299, got ${shown(code)}`);
        if (codes.length === 1 && !codes[0]!.includes('-')) url.fields.status = Number(codes[0]);
        else url.extra.status_code = codes.join(' ');
      } else if (kw === 'virtualhost') url.virtualhost = one(c, 'a host name');
      else if (kw === 'regex') {
        url.fields.expect = one(c, 'a regular expression');
        url.fields.regex = true;
      } else if (kw === 'regex_no_match') url.extra[kw] = String(flag(c));
      else if (['regex_options', 'regex_stack', 'regex_min_offset', 'regex_max_offset'].includes(kw)) url.extra[kw] = args(c, 1, 8, 'a value').join(' ');
      else unknown(this.warnings, c, 'url');
    }
    return url;
  }

  /** One VirtualService of `spec` at one address (or mark). */
  private addService(spec: VirtualSpec, m: GroupMember, groupName?: string): void {
    const where = m.where;
    let protocol: Protocol = spec.protocol ?? 'udp';
    if (m.fwmark !== 0) {
      if (spec.protocol !== undefined) this.warnings.push(`${spec.stmt.where}: protocol is ignored for a fwmark service (FWM ${m.fwmark})`);
      protocol = 'tcp';
    } else if (spec.protocol === undefined) this.warnings.push(`${spec.stmt.where}: virtual_server without protocol: keepalived uses UDP (write protocol TCP for TCP)`);
    const family = m.fwmark !== 0 ? (spec.family ?? 4) : m.family;
    const port = m.fwmark !== 0 ? 0 : (m.port ?? 0);
    const svc = newService({ protocol, address: m.address, port, fwmark: m.fwmark, family });
    if (spec.scheduler !== undefined) svc.scheduler = spec.scheduler;
    svc.persistent = spec.persistent ?? 0;
    // A granularity alone, or a wildcard port, makes the service persistent (360 s).
    if (spec.persistent === undefined && (spec.netmask !== undefined || (m.fwmark === 0 && port === 0))) svc.persistent = DEFAULT_PERSISTENT_TIMEOUT;
    if (spec.netmask !== undefined) svc.netmask = spec.netmask;
    if (spec.pe !== undefined) svc.pe = spec.pe;
    svc.onePacket = spec.onePacket;
    svc.schedFlags = [...spec.schedFlags];
    svc.quiesce = spec.quiesce;
    if (spec.sorry) svc.sorryServer = { address: spec.sorry.address, port: spec.sorry.port ?? port };
    if (Object.keys(spec.extra).length > 0) svc.health = { kind: 'none', extra: { ...spec.extra } };
    if (groupName !== undefined) svc.name = groupName;
    svc.origin = where;
    if (spec.method === undefined && spec.servers.some((r) => r.method === undefined)) this.warnings.push(`${spec.stmt.where}: virtual_server without lvs_method: keepalived uses NAT`);
    // keepalived drops a duplicate real server with an error; validation names it.
    const key = serviceKey(svc);
    for (const r of spec.servers) svc.servers.push(this.server(spec, r, svc, key));
    this.table.services.push(svc);
  }

  private server(vs: VirtualSpec, r: ServerSpec, svc: VirtualService, key: string): RealServer {
    const m = r.method ?? vs.method ?? { method: 'nat' };
    const written = r.port ?? svc.port;
    // DR and TUN keep the virtual port (a fwmark service: the packet's); the written port is still what checkers probe.
    const routed = m.method !== 'nat';
    const port = routed ? svc.port : written;
    if (routed && r.port !== undefined && r.port !== svc.port) this.warnings.push(`${r.where}: ${key}: ${m.method} keeps the ${svc.fwmark !== 0 ? "packet's port" : `virtual port ${svc.port}`}; real_server port ${r.port} is used for health checks only`);
    const server = newServer(r.address, port);
    server.method = m.method;
    if (m.tunType !== undefined) server.tunType = m.tunType;
    if (m.tunPort !== undefined) server.tunPort = m.tunPort;
    if (m.tunCsum !== undefined) server.tunCsum = m.tunCsum;
    server.weight = r.weight ?? vs.weight ?? 1;
    server.upper = r.upper;
    server.lower = r.lower;
    if (r.quiesce !== undefined) server.quiesce = r.quiesce;
    server.origin = r.where;
    const checks = r.checks.flatMap((c) => this.checks(vs, r, c, written !== port ? written : undefined));
    // notify_up/down and the like ride on the first check (a server without checkers: kind none).
    const extra = r.extra;
    if (checks.length === 0 && Object.keys(extra).length > 0) checks.push({ kind: 'none' });
    if (checks.length > 0 && Object.keys(extra).length > 0) checks[0]!.extra = { ...extra, ...checks[0]!.extra };
    if (checks.length > 0) server.health = checks[0]!;
    if (checks.length > 1) server.additionalHealth = checks.slice(1);
    return server;
  }

  /** A checker's HealthChecks (one per HTTP url), its timings resolved checker <- real_server <- virtual_server. */
  private checks(vs: VirtualSpec, r: ServerSpec, c: CheckSpec, probePort: number | undefined): HealthCheck[] {
    const pick = <K extends keyof Timing>(k: K): Timing[K] => c.timing[k] ?? r.timing[k] ?? vs.timing[k];
    const interval = pick('delayLoop') ?? DEFAULT_DELAY_LOOP;
    const retry = pick('retry') ?? DEFAULT_RETRY[c.type] ?? 1;
    const delayBeforeRetry = pick('delayBeforeRetry') ?? (c.type === 'HTTP_GET' || c.type === 'SSL_GET' ? 3 : c.type === 'DNS_CHECK' ? interval : 1);
    const base: HealthCheck = {
      kind: CHECKER_KIND[c.type]!,
      checker: c.type,
      interval,
      timeout: c.type === 'MISC_CHECK' ? (c.fields.timeout ?? interval) : (pick('connectTimeout') ?? DEFAULT_CONNECT_TIMEOUT),
      // keepalived's retry counts extra attempts; the model counts failures.
      retries: retry + 1,
      riseCount: 1,
      ...c.fields,
    };
    const port = c.port ?? probePort;
    if (port !== undefined) base.port = port;
    const extra: Record<string, string> = { ...c.extra, delay_before_retry: String(delayBeforeRetry) };
    const warmup = pick('warmup');
    if (warmup !== undefined) extra.warmup = String(warmup);
    const alpha = pick('alpha');
    if (alpha !== undefined) extra.alpha = String(alpha);
    base.extra = extra;
    if (c.type !== 'HTTP_GET' && c.type !== 'SSL_GET') return [base];
    const urls = c.urls.length > 0 ? c.urls : [{ fields: { path: '/' }, extra: {} }];
    return urls.map((u): HealthCheck => {
      const host = (u as { virtualhost?: string }).virtualhost ?? pick('virtualhost');
      return { ...base, ...u.fields, extra: { ...extra, ...u.extra, ...(host !== undefined ? { virtualhost: host } : {}) } };
    });
  }
}

/** Timing keywords shared by virtual_server, real_server and checkers; false if `c` is none. */
function timingKeyword(c: Statement, t: Timing): boolean {
  const kw = keyword(c);
  if (kw === 'delay_loop') t.delayLoop = seconds(c);
  else if (kw === 'connect_timeout') t.connectTimeout = seconds(c);
  else if (kw === 'retry') t.retry = integer(c, 0, 0x7fffffff);
  else if (kw === 'delay_before_retry') t.delayBeforeRetry = seconds(c);
  else if (kw === 'warmup') t.warmup = seconds(c);
  else if (kw === 'alpha') t.alpha = flag(c);
  else if (kw === 'virtualhost') t.virtualhost = one(c, 'a host name');
  else return false;
  return true;
}

/** `NAT | DR | TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]` (case-insensitive method). */
function methodSpec(c: Statement): MethodSpec {
  const a = args(c, 1, 6, 'NAT, DR or TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]');
  const name = a[0]!.toUpperCase();
  const method = ({ NAT: 'nat', DR: 'dr', TUN: 'tun' } as Record<string, Method>)[name];
  if (!method) throw configError(c.where, `${keyword(c)}: expected NAT, DR or TUN, got ${shown(a[0]!)}`);
  const spec: MethodSpec = { method };
  for (let i = 1; i < a.length; i++) {
    const w = a[i]!;
    if (method !== 'tun') throw configError(c.where, `${keyword(c)}: unexpected ${shown(w)}: only TUN takes options`);
    if (w === 'type') {
      const t = a[++i];
      if (t !== 'ipip' && t !== 'gue' && t !== 'gre') throw configError(c.where, `${keyword(c)}: type: expected ipip, gue or gre, got ${shown(t ?? '')}`);
      spec.tunType = t;
    } else if (w === 'port') spec.tunPort = parsePort(a[++i] ?? '', c.where, `${keyword(c)} port`, { min: 1 });
    else if (w === 'nocsum' || w === 'csum' || w === 'remcsum') spec.tunCsum = w;
    else throw configError(c.where, `${keyword(c)}: unexpected ${shown(w)} (expected type, port, nocsum, csum or remcsum)`);
  }
  return spec;
}

function protocolOf(c: Statement): Protocol {
  const v = one(c, 'TCP, UDP or SCTP');
  const p = v.toLowerCase();
  if (p !== 'tcp' && p !== 'udp' && p !== 'sctp') throw configError(c.where, `protocol: expected TCP, UDP or SCTP, got ${shown(v)}`);
  return p;
}

/** The NAME of `KEYWORD NAME {`. */
function blockName(s: Statement, usage: string): string {
  return blockArgs(s, 1, 1, usage)[0]!;
}

/** The words between a block's keyword and its brace, min..max of them. */
function blockArgs(s: Statement, min: number, max: number, usage: string): string[] {
  const a = s.words.slice(1).map((w) => w.text);
  if (a.length < min || a.length > max) throw configError(s.where, `${keyword(s)}: expected ${usage}`);
  block(s);
  return a;
}

/**
 * A group entry's addresses: one address, `A.B.C.D-E` (last octet D..E; IPv6: last group,
 * hex), or `ADDR/LEN` (every address of the prefix), at most MAX_RANGE of them.
 */
function expandRange(text: string, where: string): { address: string; family: Family }[] {
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const { address, family } = parseAddress(text.slice(0, slash), where, 'virtual_server_group');
    const bits = family === 4 ? 32 : 128;
    const len = parseInteger(text.slice(slash + 1), where, 'virtual_server_group prefix length', 0, bits);
    if (bits - len > 8) throw configError(where, `virtual_server_group: ${text} has ${2n ** BigInt(bits - len)} addresses (at most ${MAX_RANGE})`);
    const bytes = ipaddr.parse(address).toByteArray();
    const count = 2 ** (bits - len);
    const last = bytes.length - 1;
    const mask = 256 - count;
    const out: { address: string; family: Family }[] = [];
    for (let i = 0; i < count; i++) {
      const b = [...bytes];
      b[last] = (b[last]! & mask) + i;
      out.push({ address: ipaddr.fromByteArray(b).toString(), family });
    }
    return out;
  }
  const dash = text.lastIndexOf('-');
  if (dash < 0) return [parseAddress(text, where, 'virtual_server_group')];
  const { address, family } = parseAddress(text.slice(0, dash), where, 'virtual_server_group');
  const endText = text.slice(dash + 1);
  if (family === 4 ? !/^[0-9]{1,3}$/.test(endText) : !/^[0-9a-fA-F]{1,4}$/.test(endText)) throw configError(where, `virtual_server_group: range end ${shown(endText)}: expected the last ${family === 4 ? 'octet (decimal)' : 'group (hex)'}`);
  const bytes = ipaddr.parse(address).toByteArray();
  const start = family === 4 ? bytes[3]! : bytes[14]! * 256 + bytes[15]!;
  const end = parseInt(endText, family === 4 ? 10 : 16);
  if (end < start || end > (family === 4 ? 255 : 0xffff)) throw configError(where, `virtual_server_group: range ${text} ends before it starts or past the last ${family === 4 ? 'octet' : 'group'}`);
  if (end - start + 1 > MAX_RANGE) throw configError(where, `virtual_server_group: range ${text} has ${end - start + 1} addresses (at most ${MAX_RANGE})`);
  const out: { address: string; family: Family }[] = [];
  for (let v = start; v <= end; v++) {
    const b = [...bytes];
    if (family === 4) b[3] = v;
    else [b[14], b[15]] = [v >> 8, v & 255];
    out.push({ address: ipaddr.fromByteArray(b).toString(), family });
  }
  return out;
}
