// Firewall-mark rules: a reader for iptables-shaped `-j MARK` rules (iptables(8),
// iptables-extensions(8): the MARK target (xt_MARK), the tcp/udp/sctp, multiport, mark and
// comment matches), as operators write them for IPVS firewall-mark services (ipvsadm -f).
// AF_PACKET never sees netfilter marks (design.md, hard fact 3), so uvs reads the rules
// itself and classifies packets with them (fwmark.ts).
//
// Accepted, one rule per line (a trailing `\` continues a line; `#` starts a comment):
//   iptables -t mangle -A PREROUTING -p tcp -d 10.0.0.100/32 -m multiport --dports 80,443 -j MARK --set-mark 1
//   -t mangle -I PREROUTING 2 -p udp -s 192.0.2.0/24 --dport 53 -j MARK --set-xmark 0x5/0xff
//   iptables -t mangle -F PREROUTING
// and iptables-save output (`*mangle`, `:PREROUTING ACCEPT [0:0]`, `[0:0] -A PREROUTING ...`,
// `COMMIT`). Rules must be in the mangle table's PREROUTING chain: the only chain a
// packet passes before uvs (and IPVS's LOCAL_IN) would see its mark.
//
// The one deviation from netfilter: uvs classifies the packets it sees on its datapath
// interfaces, as they arrive and before any routing; matches on state outside the packet
// (conntrack, owner, socket, connmark, ...) and IPv6 (ip6tables) rules are not supported
// and rejected with an error rather than silently ignored.

import { UvsError } from '../errors.js';

export const FWMARK_RULE_ERROR = 'UVS_FWMARK_RULE';

/** An IPv4 prefix: `net` is a uint32 with the host bits cleared; len 0 = every address. */
export interface Ip4Prefix {
  net: number;
  len: number;
}

/** Which ports a port match looks at: `either` is multiport's --ports (source or destination). */
export type PortDirection = 'source' | 'destination' | 'either';

/** One port match (--sport/--dport of tcp/udp/sctp, or a multiport option): any range matches. */
export interface PortMatch {
  direction: PortDirection;
  negated: boolean;
  /** Inclusive ranges; a single port is { from: p, to: p }. */
  ranges: { from: number; to: number }[];
}

/** The MARK target in the kernel's form (xt_MARK revision 2): mark = (mark & ~clear) ^ xor. */
export interface MarkOperation {
  clear: number;
  xor: number;
}

/** One rule, after comma lists of addresses have been expanded (plain data: it is structured-cloned to workers). */
export interface MarkRule {
  /** Where it was written, for messages. */
  file: string;
  line: number;
  /** IP protocol number; 0 = all. */
  protocol: number;
  protocolNegated: boolean;
  source: Ip4Prefix;
  sourceNegated: boolean;
  destination: Ip4Prefix;
  destinationNegated: boolean;
  /** -i: an interface name, a trailing '+' matching every name with that prefix; null = any. */
  inInterface: string | null;
  inInterfaceNegated: boolean;
  /** All must match (a rule may combine --sport, --dport and multiport). */
  ports: PortMatch[];
  /** -m mark --mark value/mask: tests the mark earlier rules of the chain have set. */
  markMatch: { value: number; mask: number; negated: boolean } | null;
  operation: MarkOperation;
  /** -m comment --comment text. */
  comment: string | null;
}

const PROTOCOLS: Record<string, number> = { all: 0, tcp: 6, udp: 17, sctp: 132, '0': 0, '6': 6, '17': 17, '132': 132 };
const PORT_PROTOCOLS = new Set([6, 17, 132]);
const PROTOCOL_NAMES: Record<number, string> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };
/** The mangle table's built-in chains (what an iptables-save section may declare). */
const MANGLE_CHAINS = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);
const SUPPORTED_MATCHES = new Set(['tcp', 'udp', 'sctp', 'multiport', 'mark', 'comment']);
const MARK_OPTIONS = '--set-mark, --set-xmark, --and-mark, --or-mark or --xor-mark';
/** xt_multiport's XT_MULTI_PORTS: at most 15 ports per option, a range counting two. */
const MULTIPORT_MAX = 15;
const IFNAMSIZ = 16;

/**
 * Reads MARK rules (text with one rule per line, or iptables-save output) into rules in
 * chain order, as iptables would leave the mangle PREROUTING chain after running them.
 * Throws UvsError `UVS_FWMARK_RULE` with `${file}:${line}: ...` naming the offending token.
 */
export function parseMarkRules(text: string, file = 'mark rules'): MarkRule[] {
  const chain: MarkRule[] = [];
  let section: { table: string; line: number } | null = null;
  for (const { line, tokens } of logicalLines(text, file)) {
    const fail = (what: string): never => {
      throw new UvsError(FWMARK_RULE_ERROR, `${file}:${line}: ${what}`);
    };
    const first = tokens[0]!;
    if (first.startsWith('*')) {
      if (section) fail(`table '${first}' starts before the COMMIT of *${section.table} (line ${section.line})`);
      const table = first.slice(1);
      if (table !== 'mangle') fail(`table '${first}': uvs reads only the mangle table's PREROUTING chain (save it alone with iptables-save -t mangle)`);
      if (tokens.length > 1) fail(`unexpected '${tokens[1]}' after ${first}`);
      section = { table, line };
      continue;
    }
    if (first.startsWith(':')) {
      if (!section) fail(`chain declaration '${first}' outside a *mangle ... COMMIT section`);
      continue; // built-in policies and user chains declared here; rules in them are refused below
    }
    if (first === 'COMMIT') {
      if (!section) fail('COMMIT without a *mangle section');
      if (tokens.length > 1) fail(`unexpected '${tokens[1]}' after COMMIT`);
      section = null;
      continue;
    }
    parseCommand(tokens, section !== null, chain, file, line, fail);
  }
  if (section) throw new UvsError(FWMARK_RULE_ERROR, `${file}:${section.line}: *${section.table} has no COMMIT`);
  return chain;
}

// ---- lines and tokens ----

/** Splits into lines joined at a trailing backslash, tokenized like a shell (quotes, `#` comments). */
function* logicalLines(text: string, file: string): Generator<{ line: number; tokens: string[] }> {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    let joined = lines[i]!;
    while (/(^|[^\\])(\\\\)*\\$/.test(joined) && i + 1 < lines.length) joined = joined.slice(0, -1) + ' ' + lines[++i]!;
    const tokens = tokenize(joined, file, line);
    if (tokens.length > 0) yield { line, tokens };
  }
}

function tokenize(s: string, file: string, line: number): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i]!)) i++;
    if (i >= s.length || s[i] === '#') break;
    let token = '';
    while (i < s.length && !/\s/.test(s[i]!)) {
      const c = s[i]!;
      if (c === "'" || c === '"') {
        const end = s.indexOf(c, i + 1);
        if (end < 0) throw new UvsError(FWMARK_RULE_ERROR, `${file}:${line}: unterminated ${c} quote`);
        const quoted = s.slice(i + 1, end);
        token += c === '"' ? quoted.replace(/\\(["\\$`])/g, '$1') : quoted;
        i = end + 1;
      } else if (c === '\\' && i + 1 < s.length) {
        token += s[i + 1];
        i += 2;
      } else {
        token += c;
        i++;
      }
    }
    tokens.push(token);
  }
  return tokens;
}

// ---- one command ----

interface MultiportDraft {
  option: string | null;
  match: PortMatch | null;
}

/** Parses one command line and applies it (-A, -I, -F) to `chain`. */
function parseCommand(tokens: string[], inSave: boolean, chain: MarkRule[], file: string, line: number, fail: (what: string) => never): void {
  let pos = 0;
  // iptables-save -c prefixes rules with [packets:bytes].
  if (/^\[\d+:\d+\]$/.test(tokens[0]!)) pos++;
  const program = tokens[pos]?.replace(/^.*\//, '');
  if (program !== undefined && /^ip6tables/.test(program)) fail(`'${tokens[pos]}': IPv6 rules are not supported (the classifier is IPv4 only)`);
  if (program !== undefined && /^iptables(-legacy|-nft)?$/.test(program)) {
    if (inSave) fail(`'${tokens[pos]}' inside a *mangle section: write the rule as iptables-save does (-A PREROUTING ...)`);
    pos++;
  }

  let table: string | null = null;
  let command: { option: string; kind: 'append' | 'insert' | 'flush'; chain: string | null; index: number } | null = null;
  let protocol: { value: number; negated: boolean } | null = null;
  let sources: { list: Ip4Prefix[]; negated: boolean } | null = null;
  let destinations: { list: Ip4Prefix[]; negated: boolean } | null = null;
  let inInterface: { name: string; negated: boolean } | null = null;
  let markMatch: MarkRule['markMatch'] = null;
  let comment: string | null = null;
  let target: string | null = null;
  let operation: { option: string; op: MarkOperation } | null = null;
  const loaded = new Set<string>();
  // The tcp/udp/sctp match: loaded by -m or, as iptables does, implicitly by -p.
  const l4Ports: { source: PortMatch | null; destination: PortMatch | null } = { source: null, destination: null };
  const multiports: MultiportDraft[] = [];
  let negate = false;

  const next = (option: string): string => {
    const v = tokens[++pos];
    if (v === undefined) fail(`${option} needs a value`);
    return v!;
  };
  /** An option's value; for a negatable option, the deprecated `--opt ! value` form negates. */
  const value = (option: string, inline: string | undefined, negatable = false): string => {
    if (inline !== undefined) return inline;
    const v = next(option);
    if (v !== '!') return v;
    if (!negatable) fail(`'!' cannot negate ${option}`);
    if (negate) fail(`'!' given twice for ${option}`);
    negate = true;
    return next(option);
  };
  const once = <T>(seen: T | null, option: string): void => {
    if (seen !== null) fail(`${option} given twice in one rule`);
  };
  const noNegation = (option: string): void => {
    if (negate) fail(`'!' cannot negate ${option}`);
  };

  for (; pos < tokens.length; pos++) {
    const token = tokens[pos]!;
    if (token === '!') {
      if (negate) fail("'!' given twice");
      if (pos + 1 >= tokens.length) fail("'!' at the end of the rule: it negates the option after it");
      negate = true;
      continue;
    }
    const eq = token.startsWith('--') ? token.indexOf('=') : -1;
    const option = eq > 0 ? token.slice(0, eq) : token;
    const inline = eq > 0 ? token.slice(eq + 1) : undefined;
    switch (option) {
      case '-t':
      case '--table':
        noNegation(option);
        if (inSave) fail(`${option} inside a *mangle section: the section names the table`);
        once(table, option);
        table = value(option, inline);
        break;
      case '-A':
      case '--append':
      case '-I':
      case '--insert':
      case '-F':
      case '--flush': {
        noNegation(option);
        if (command) fail(`${option} after ${command.option}: one command per line`);
        const kind = option === '-A' || option === '--append' ? 'append' : option === '-I' || option === '--insert' ? 'insert' : 'flush';
        const optional = (): string | undefined => (inline === undefined && tokens[pos + 1] !== undefined && !tokens[pos + 1]!.startsWith('-') && tokens[pos + 1] !== '!' ? tokens[++pos] : undefined);
        const name = kind === 'flush' ? (inline ?? optional() ?? null) : value(option, inline);
        let index = 1;
        if (kind === 'insert' && tokens[pos + 1] !== undefined && /^\d+$/.test(tokens[pos + 1]!)) {
          index = Number(tokens[++pos]);
          if (index < 1) fail(`${option} ${name} ${index}: rule numbers start at 1`);
        }
        command = { option, kind, chain: name, index };
        break;
      }
      case '-w':
      case '--wait':
      case '-W':
      case '--wait-interval':
        // Locking options of the iptables program: nothing to do here.
        noNegation(option);
        if (inline === undefined && /^\d+(\.\d+)?$/.test(tokens[pos + 1] ?? '')) pos++;
        else if ((option === '-W' || option === '--wait-interval') && inline === undefined) next(option);
        break;
      case '-p':
      case '--protocol': {
        once(protocol, option);
        const v = value(option, inline, true);
        const p = PROTOCOLS[v.toLowerCase()];
        if (p === undefined) fail(`${option} '${v}': expected tcp, udp, sctp, all (or 6, 17, 132, 0)`);
        if (p === 0 && negate) fail(`'! ${option} ${v}' matches no packet`);
        protocol = { value: p!, negated: negate };
        break;
      }
      case '-s':
      case '--source':
      case '--src':
      case '-d':
      case '--destination':
      case '--dst': {
        const isSource = option.startsWith('-s') || option.startsWith('--s');
        once(isSource ? sources : destinations, option);
        const v = value(option, inline, true);
        const list = v.split(',').map((a) => parsePrefix(a, option, fail));
        if (negate && list.length > 1) fail(`'!' cannot negate a list of addresses (${option} ${v})`);
        const unique = list.filter((p, i) => list.findIndex((q) => q.net === p.net && q.len === p.len) === i);
        if (isSource) sources = { list: unique, negated: negate };
        else destinations = { list: unique, negated: negate };
        break;
      }
      case '-i':
      case '--in-interface': {
        once(inInterface, option);
        const v = value(option, inline, true);
        if (v.length === 0 || v.length >= IFNAMSIZ || /[\s/:]/.test(v) || (v.includes('+') && !/^[^+]*\+$/.test(v)))
          fail(`${option} '${v}': expected an interface name (at most ${IFNAMSIZ - 1} characters, a trailing '+' for any suffix)`);
        inInterface = { name: v, negated: negate };
        break;
      }
      case '-o':
      case '--out-interface':
        fail(`${option}: packets in PREROUTING have no output interface yet`);
        break;
      case '-m':
      case '--match': {
        noNegation(option);
        const name = value(option, inline).toLowerCase();
        if (name === 'multiport') multiports.push({ option: null, match: null });
        else if (!SUPPORTED_MATCHES.has(name))
          fail(`match '${option} ${name}' is not supported: uvs classifies each packet on its own as it arrives (no conntrack, owner, ...); supported matches: ${[...SUPPORTED_MATCHES].join(', ')}`);
        loaded.add(name);
        break;
      }
      case '--sport':
      case '--source-port':
      case '--dport':
      case '--destination-port': {
        const owner = ['tcp', 'udp', 'sctp'].find((m) => loaded.has(m)) ?? (protocol && !protocol.negated && PORT_PROTOCOLS.has(protocol.value) ? PROTOCOL_NAMES[protocol.value] : undefined);
        if (owner === undefined) fail(`${option} needs -p tcp, -p udp or -p sctp (or -m tcp/udp/sctp) before it`);
        const direction = option === '--sport' || option === '--source-port' ? 'source' : 'destination';
        once(l4Ports[direction], option);
        const v = value(option, inline, true);
        l4Ports[direction] = { direction, negated: negate, ranges: [parsePortRange(v, option, true, fail)] };
        break;
      }
      case '--sports':
      case '--source-ports':
      case '--dports':
      case '--destination-ports':
      case '--ports': {
        const current = multiports[multiports.length - 1];
        if (!current) fail(`${option} belongs to -m multiport: put -m multiport before it`);
        if (current!.option !== null) fail(`${option} after ${current!.option}: one port option per -m multiport`);
        const direction: PortDirection = option === '--ports' ? 'either' : option.startsWith('--s') ? 'source' : 'destination';
        const v = value(option, inline, true);
        const ranges = v.split(',').map((p) => parsePortRange(p, option, false, fail));
        const entries = ranges.reduce((n, r) => n + (r.from === r.to ? 1 : 2), 0);
        if (entries > MULTIPORT_MAX) fail(`${option} ${v}: at most ${MULTIPORT_MAX} ports, a range counting two (found ${entries})`);
        current!.option = option;
        current!.match = { direction, negated: negate, ranges };
        break;
      }
      case '--mark': {
        if (!loaded.has('mark')) fail(`${option} belongs to -m mark: put -m mark before it`);
        once(markMatch, option);
        const { value: v, mask } = parseValueMask(value(option, inline, true), option, fail);
        markMatch = { value: (v & mask) >>> 0, mask, negated: negate };
        break;
      }
      case '--comment': {
        noNegation(option);
        if (!loaded.has('comment')) fail(`${option} belongs to -m comment: put -m comment before it`);
        once(comment, option);
        comment = value(option, inline);
        if (comment.length > 255) fail(`${option}: at most 255 characters`);
        break;
      }
      case '-j':
      case '--jump': {
        noNegation(option);
        once(target, option);
        target = value(option, inline);
        if (target !== 'MARK') fail(`target '${option} ${target}' is not supported: uvs reads -j MARK rules only`);
        break;
      }
      case '--set-mark':
      case '--set-xmark':
      case '--and-mark':
      case '--or-mark':
      case '--xor-mark': {
        noNegation(option);
        if (target !== 'MARK') fail(`${option} belongs to -j MARK: put -j MARK before it`);
        if (operation) fail(`${option} after ${operation.option}: one of ${MARK_OPTIONS} per rule`);
        operation = { option, op: markOperation(option, value(option, inline), fail) };
        break;
      }
      default:
        if (!option.startsWith('-')) fail(`unexpected '${token}' (an option starting with '-' was expected)`);
        fail(`unknown or unsupported option '${option}'`);
    }
    negate = false;
  }

  if (!command) fail('no command: expected -A PREROUTING, -I PREROUTING [n] or -F [PREROUTING]');
  const cmd = command!;
  const effectiveTable = inSave ? 'mangle' : (table ?? 'filter');
  if (cmd.kind === 'flush') {
    // Flushing another table or chain leaves mangle PREROUTING as it is.
    if (effectiveTable === 'mangle' && (cmd.chain === null || cmd.chain === 'PREROUTING')) chain.length = 0;
    return;
  }
  if (effectiveTable !== 'mangle') {
    fail(target === 'MARK' ? `-j MARK in table '${effectiveTable}': the MARK target belongs to the mangle table (add -t mangle)` : `table '${effectiveTable}': uvs reads only -t mangle PREROUTING rules`);
  }
  if (cmd.chain !== 'PREROUTING') {
    fail(`chain '${cmd.chain}': uvs sees packets only as they arrive, so only PREROUTING rules apply${MANGLE_CHAINS.has(cmd.chain!) ? '' : ' (user-defined chains are not supported)'}`);
  }
  if (target === null) fail(`no target: expected -j MARK with ${MARK_OPTIONS}`);
  if (!operation) fail(`-j MARK needs ${MARK_OPTIONS}`);

  // iptables refuses port matches unless the rule is for that very protocol.
  const protocolValue = protocol?.value ?? 0;
  for (const m of ['tcp', 'udp', 'sctp']) {
    if (loaded.has(m) && (protocolValue !== PROTOCOLS[m] || protocol!.negated)) fail(`-m ${m} needs -p ${m}`);
  }
  for (const mp of multiports) {
    if (!protocol || protocol.negated || !PORT_PROTOCOLS.has(protocol.value)) fail('-m multiport needs -p tcp, -p udp or -p sctp');
    if (!mp.match) fail('-m multiport needs --sports, --dports or --ports');
  }
  const ports: PortMatch[] = [l4Ports.source, l4Ports.destination, ...multiports.map((m) => m.match)].filter((m): m is PortMatch => m !== null);

  const any: Ip4Prefix = { net: 0, len: 0 };
  const made: MarkRule[] = [];
  // iptables adds one rule per source x destination, in that order.
  for (const source of sources?.list ?? [any]) {
    for (const destination of destinations?.list ?? [any]) {
      made.push({
        file,
        line,
        protocol: protocolValue,
        protocolNegated: protocol?.negated ?? false,
        source,
        sourceNegated: sources?.negated ?? false,
        destination,
        destinationNegated: destinations?.negated ?? false,
        inInterface: inInterface?.name ?? null,
        inInterfaceNegated: inInterface?.negated ?? false,
        ports: ports.map((p) => ({ ...p, ranges: p.ranges.map((r) => ({ ...r })) })),
        markMatch: markMatch ? { ...markMatch } : null,
        operation: { ...operation!.op },
        comment,
      });
    }
  }
  if (cmd.kind === 'append') chain.push(...made);
  else {
    if (cmd.index > chain.length + 1) fail(`${cmd.option} PREROUTING ${cmd.index}: the chain has ${chain.length} rule(s), so at most ${chain.length + 1}`);
    // Each expanded rule is inserted at the same number, as iptables does (so they end up reversed).
    for (const r of made) chain.splice(cmd.index - 1, 0, r);
  }
}

// ---- values ----

/** A dotted address as iptables reads it: 1 to 4 parts, missing parts zero ("0/0", "10/8"). */
function parseAddress(s: string): number | null {
  const parts = s.split('.');
  if (parts.length > 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  let v = 0;
  for (let i = 0; i < 4; i++) v = v * 256 + Number(parts[i] ?? 0);
  return v;
}

function parsePrefix(text: string, option: string, fail: (what: string) => never): Ip4Prefix {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = parseAddress(addrText);
  if (addr === null) {
    fail(`${option} '${text}': '${addrText}' is not an IPv4 address${addrText.includes(':') ? ' (IPv6 rules are not supported)' : /[a-z]/i.test(addrText) ? ' (host names are not resolved)' : ''}`);
  }
  let len = 32;
  if (slash >= 0) {
    const m = text.slice(slash + 1);
    if (/^\d{1,2}$/.test(m) && Number(m) <= 32) len = Number(m);
    else {
      const mask = m.split('.').length === 4 ? parseAddress(m) : null;
      if (mask === null) fail(`${option} '${text}': '/${m}' is not a prefix length 0..32 or a dotted mask`);
      len = Math.clz32(~mask! >>> 0); // leading one bits
      if (prefixMask(len) !== mask) fail(`${option} '${text}': mask '${m}' is not contiguous`);
    }
  }
  return { net: (addr! & prefixMask(len)) >>> 0, len };
}

/** The netmask of a prefix length, as a uint32. */
export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

function parsePort(s: string, option: string, fail: (what: string) => never): number {
  if (!/^\d+$/.test(s) || Number(s) > 65535) fail(`${option}: '${s}' is not a port number 0..65535${/[a-z]/i.test(s) ? ' (service names are not resolved)' : ''}`);
  return Number(s);
}

/** N, N:M, and (tcp/udp/sctp --sport/--dport only) :M and N: for open ranges. */
function parsePortRange(s: string, option: string, openEnds: boolean, fail: (what: string) => never): { from: number; to: number } {
  const colon = s.indexOf(':');
  if (colon < 0) {
    const p = parsePort(s, option, fail);
    return { from: p, to: p };
  }
  const a = s.slice(0, colon);
  const b = s.slice(colon + 1);
  if (!openEnds && (a === '' || b === '')) fail(`${option}: '${s}' is not a port range N:M`);
  const from = a === '' ? 0 : parsePort(a, option, fail);
  const to = b === '' ? 65535 : parsePort(b, option, fail);
  if (from > to) fail(`${option}: range '${s}' is reversed (${from} > ${to})`);
  return { from, to };
}

/** A 32-bit value as iptables reads it (strtoul base 0: decimal, 0x hex, leading 0 octal). */
function parseUint32(s: string, option: string, fail: (what: string) => never): number {
  const v = /^0x[0-9a-f]+$/i.test(s) ? parseInt(s.slice(2), 16) : /^0[0-7]*$/.test(s) ? parseInt(s, 8) : /^[1-9]\d*$/.test(s) ? Number(s) : NaN;
  if (Number.isNaN(v)) fail(`${option}: '${s}' is not a number (decimal, 0x hex or 0 octal)`);
  if (v > 0xffffffff) fail(`${option}: '${s}' is larger than 0xffffffff`);
  return v;
}

function parseValueMask(s: string, option: string, fail: (what: string) => never): { value: number; mask: number } {
  const slash = s.indexOf('/');
  if (slash < 0) return { value: parseUint32(s, option, fail), mask: 0xffffffff };
  return { value: parseUint32(s.slice(0, slash), option, fail), mask: parseUint32(s.slice(slash + 1), option, fail) };
}

/** The MARK target's options in xt_MARK's (clear, xor) form, as libxt_MARK translates them. */
function markOperation(option: string, text: string, fail: (what: string) => never): MarkOperation {
  const masked = option === '--set-mark' || option === '--set-xmark';
  if (!masked && text.includes('/')) fail(`${option} '${text}': takes bits without a /mask`);
  const { value, mask } = parseValueMask(text, option, fail);
  switch (option) {
    case '--set-xmark': // zero the mask bits, XOR the value
      return { clear: mask, xor: value };
    case '--set-mark': // zero the mask bits, OR the value
      return { clear: (mask | value) >>> 0, xor: value };
    case '--and-mark':
      return { clear: ~value >>> 0, xor: 0 };
    case '--or-mark':
      return { clear: value, xor: value };
    default: // --xor-mark
      return { clear: 0, xor: value };
  }
}
