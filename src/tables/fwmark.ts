// Firewall-mark classifier: gives a packet the netfilter mark the mangle PREROUTING MARK
// rules (xt_MARK, iptables-extensions(8); parsed by fwmark-rules.ts) would give it, so
// IPVS firewall-mark services (ipvsadm -f, connections.md §8 and §3.5) work although
// AF_PACKET never sees netfilter marks (design.md, hard fact 3).
//
// Semantics are iptables': rules are tried in chain order and MARK does not terminate, so
// every matching rule applies its operation (mark = (mark & ~clear) ^ xor) to the mark the
// rules before it left; a packet starts with mark 0 and 0 means "unmarked".
//
// Interfaces: a rule's -i names an interface; the classifier is built with the datapath's
// interface names in port order, and classify() takes the port index the packet arrived
// on. A name no port has (or a port index outside the list) is simply not that interface,
// as in iptables, where `-i nosuch` never matches.
//
// Deviation from netfilter: only packets uvs sees on its datapath interfaces are
// classified, on arrival, before any routing; rules on state outside the packet
// (conntrack, owner, ...) are refused by the parser. IPv4 only.
//
// Hot path: classify() is monomorphic over typed arrays and allocates nothing; without rules
// it returns at once, a packet whose protocol or destination /16 no rule can match (two
// table lookups) returns before any rule is looked at, and otherwise only the rules whose
// destination can contain the packet's are walked: those naming exactly its destination
// (found with one hash lookup) and those with a wider destination.

import { ip4ToString } from '../packet/addr.js';
import { prefixMask, type Ip4Prefix, type MarkRule } from './fwmark-rules.js';

export { FWMARK_RULE_ERROR, parseMarkRules, prefixMask } from './fwmark-rules.js';
export type { Ip4Prefix, MarkOperation, MarkRule, PortDirection, PortMatch } from './fwmark-rules.js';

/** A balanced (protocol, address, port) the kernel must leave alone; port 0 = every port. */
export interface MarkIsolationEntry {
  protocol: 'tcp' | 'udp' | 'sctp';
  vip: string;
  port: number;
}

/** What the rules mean for kernel isolation (datapath/isolation.ts). */
export interface MarkIsolation {
  /** From rules whose destination is one address (/32, not negated), de-duplicated. */
  services: MarkIsolationEntry[];
  /** Rules whose destination is wider (a prefix, negated, or absent): the caller decides. */
  wideRules: MarkRule[];
}

// Per-rule flags.
const F_PROTO_NEG = 1;
const F_SRC_NEG = 2;
const F_DST_NEG = 4;
const F_IFACE = 8;
const F_MARK = 16;
const F_MARK_NEG = 32;
// Per-port-match flags.
const PM_SOURCE = 1;
const PM_DESTINATION = 2;
const PM_NEG = 4;

/** A port range wider than this makes an isolation entry for every port (port 0). */
const ISOLATION_MAX_PORTS = 64;
const GOLDEN = 0x9e3779b1;
const ISOLATION_PROTOCOLS: readonly [number, MarkIsolationEntry['protocol']][] = [
  [6, 'tcp'],
  [17, 'udp'],
  [132, 'sctp'],
];

export class MarkClassifier {
  /** Number of rules (0: classify() always returns 0). */
  readonly size: number;
  readonly rules: readonly MarkRule[];
  private readonly interfaceCount: number;
  private readonly flags: Uint8Array;
  private readonly protocol: Uint8Array;
  // Addresses and marks as int32, compared with int32 results of `&`.
  private readonly srcNet: Int32Array;
  private readonly srcMask: Int32Array;
  private readonly dstNet: Int32Array;
  private readonly dstMask: Int32Array;
  private readonly markValue: Int32Array;
  private readonly markMask: Int32Array;
  private readonly markClear: Int32Array;
  private readonly markXor: Int32Array;
  /** Rule r's port matches are pm[portFirst[r] .. portFirst[r + 1]). */
  private readonly portFirst: Uint32Array;
  private readonly pmFlags: Uint8Array;
  /** Port match k's ranges are range*[rangeFirst[k] .. rangeFirst[k + 1]). */
  private readonly rangeFirst: Uint32Array;
  private readonly rangeFrom: Uint16Array;
  private readonly rangeTo: Uint16Array;
  /** ifaceOk[r * (interfaceCount + 1) + port]: rule r's -i test passes on that port (last: unknown port). */
  private readonly ifaceOk: Uint8Array;
  /** Prefilter: some rule may match this IP protocol. */
  private readonly protocolPossible: Uint8Array;
  /** Prefilter: bit per destination /16 that some rule's destination may cover. */
  private readonly destinationTop16: Uint8Array;
  // Destination index: the rules a packet can match are those for its exact destination
  // (one-address rules) merged in chain order with the rest; candidates[start..end) lists
  // them. An open-addressing table maps each one-address destination to its list.
  private readonly candidates: Uint32Array;
  private readonly otherEnd: number;
  private readonly indexMask: number;
  private readonly indexShift: number;
  private readonly indexUsed: Uint8Array;
  private readonly indexKey: Int32Array;
  private readonly indexStart: Uint32Array;
  private readonly indexEnd: Uint32Array;

  /** `interfaces`: the datapath's interface names, in the port order classify() is given. */
  constructor(rules: readonly MarkRule[], interfaces: readonly string[] = []) {
    const n = rules.length;
    this.size = n;
    this.rules = rules;
    this.interfaceCount = interfaces.length;
    this.flags = new Uint8Array(n);
    this.protocol = new Uint8Array(n);
    this.srcNet = new Int32Array(n);
    this.srcMask = new Int32Array(n);
    this.dstNet = new Int32Array(n);
    this.dstMask = new Int32Array(n);
    this.markValue = new Int32Array(n);
    this.markMask = new Int32Array(n);
    this.markClear = new Int32Array(n);
    this.markXor = new Int32Array(n);
    this.portFirst = new Uint32Array(n + 1);
    const matches = rules.flatMap((r) => r.ports);
    this.pmFlags = new Uint8Array(matches.length);
    this.rangeFirst = new Uint32Array(matches.length + 1);
    const rangeCount = matches.reduce((c, m) => c + m.ranges.length, 0);
    this.rangeFrom = new Uint16Array(rangeCount);
    this.rangeTo = new Uint16Array(rangeCount);
    const stride = interfaces.length + 1;
    this.ifaceOk = new Uint8Array(n * stride);
    this.protocolPossible = new Uint8Array(256);
    this.destinationTop16 = new Uint8Array(8192);

    let k = 0;
    let range = 0;
    rules.forEach((rule, r) => {
      let flags = 0;
      if (rule.protocolNegated) flags |= F_PROTO_NEG;
      if (rule.sourceNegated) flags |= F_SRC_NEG;
      if (rule.destinationNegated) flags |= F_DST_NEG;
      this.protocol[r] = rule.protocol;
      this.srcNet[r] = rule.source.net;
      this.srcMask[r] = prefixMask(rule.source.len);
      this.dstNet[r] = rule.destination.net;
      this.dstMask[r] = prefixMask(rule.destination.len);
      if (rule.markMatch) {
        flags |= F_MARK | (rule.markMatch.negated ? F_MARK_NEG : 0);
        this.markValue[r] = rule.markMatch.value;
        this.markMask[r] = rule.markMatch.mask;
      }
      this.markClear[r] = rule.operation.clear;
      this.markXor[r] = rule.operation.xor;
      if (rule.inInterface !== null) {
        flags |= F_IFACE;
        const name = rule.inInterface;
        const matches = (ifname: string): boolean => (name.endsWith('+') ? ifname.startsWith(name.slice(0, -1)) : ifname === name);
        for (let port = 0; port < stride; port++) {
          const here = port < interfaces.length && matches(interfaces[port]!);
          this.ifaceOk[r * stride + port] = here !== rule.inInterfaceNegated ? 1 : 0;
        }
      }
      this.flags[r] = flags;
      this.portFirst[r] = k;
      for (const m of rule.ports) {
        this.pmFlags[k] = (m.direction !== 'destination' ? PM_SOURCE : 0) | (m.direction !== 'source' ? PM_DESTINATION : 0) | (m.negated ? PM_NEG : 0);
        this.rangeFirst[k] = range;
        for (const { from, to } of m.ranges) {
          this.rangeFrom[range] = from;
          this.rangeTo[range] = to;
          range++;
        }
        k++;
      }
      this.markPossible(rule);
    });
    this.portFirst[n] = k;
    this.rangeFirst[k] = range;

    const byAddress = new Map<number, number[]>();
    let others: number[] = [];
    rules.forEach((rule, r) => {
      if (rule.destinationNegated || rule.destination.len !== 32) others.push(r);
      else byAddress.set(rule.destination.net, [...(byAddress.get(rule.destination.net) ?? []), r]);
    });
    // Each indexed address repeats the other rules; past a million entries, walk them all.
    if (byAddress.size * others.length > 1 << 20) {
      byAddress.clear();
      others = rules.map((_, r) => r);
    }
    const lists: number[] = [...others];
    this.otherEnd = lists.length;
    const bits = Math.max(1, 32 - Math.clz32(byAddress.size * 2));
    this.indexShift = 32 - bits;
    this.indexMask = (1 << bits) - 1;
    this.indexUsed = new Uint8Array(1 << bits);
    this.indexKey = new Int32Array(1 << bits);
    this.indexStart = new Uint32Array(1 << bits);
    this.indexEnd = new Uint32Array(1 << bits);
    for (const [address, own] of byAddress) {
      let h = Math.imul(address, GOLDEN) >>> this.indexShift;
      while (this.indexUsed[h] === 1) h = (h + 1) & this.indexMask;
      this.indexUsed[h] = 1;
      this.indexKey[h] = address;
      this.indexStart[h] = lists.length;
      lists.push(...[...own, ...others].sort((a, b) => a - b));
      this.indexEnd[h] = lists.length;
    }
    this.candidates = Uint32Array.from(lists);
  }

  /** Fills the prefilter tables with what `rule` may match. */
  private markPossible(rule: MarkRule): void {
    if (rule.protocol === 0) this.protocolPossible.fill(1);
    else if (rule.protocolNegated) {
      const keep = this.protocolPossible[rule.protocol]!;
      this.protocolPossible.fill(1);
      this.protocolPossible[rule.protocol] = keep;
    } else this.protocolPossible[rule.protocol] = 1;
    const { net, len } = rule.destination;
    if (rule.destinationNegated || len === 0) this.destinationTop16.fill(0xff);
    else {
      const first = net >>> 16;
      const count = len >= 16 ? 1 : 1 << (16 - len);
      for (let top = first; top < first + count; top++) this.destinationTop16[top >>> 3] |= 1 << (top & 7);
    }
  }

  /**
   * The mark the rules give a packet (uint32, 0 = unmarked). Addresses are IPv4 as uint32
   * (int32 works too), ports 0 for a protocol without ports, `inPort` the index into the
   * interface names the classifier was built with.
   */
  classify(protocol: number, saddr: number, sport: number, daddr: number, dport: number, inPort: number): number {
    if (this.size === 0) return 0;
    if (this.protocolPossible[protocol & 0xff] === 0) return 0;
    const top = daddr >>> 16;
    if ((this.destinationTop16[top >>> 3]! & (1 << (top & 7))) === 0) return 0;
    let start = 0;
    let end = this.otherEnd;
    const key = daddr | 0;
    for (let h = Math.imul(key, GOLDEN) >>> this.indexShift; this.indexUsed[h] === 1; h = (h + 1) & this.indexMask) {
      if (this.indexKey[h] === key) {
        start = this.indexStart[h]!;
        end = this.indexEnd[h]!;
        break;
      }
    }
    const flags = this.flags;
    const candidates = this.candidates;
    const stride = this.interfaceCount + 1;
    const port = inPort >= 0 && inPort < this.interfaceCount ? inPort : this.interfaceCount;
    let mark = 0;
    for (let i = start; i < end; i++) {
      const r = candidates[i]!;
      const f = flags[r]!;
      const p = this.protocol[r]!;
      if (p !== 0 && (p === protocol) === ((f & F_PROTO_NEG) !== 0)) continue;
      if (((daddr & this.dstMask[r]!) === this.dstNet[r]) === ((f & F_DST_NEG) !== 0)) continue;
      if (((saddr & this.srcMask[r]!) === this.srcNet[r]) === ((f & F_SRC_NEG) !== 0)) continue;
      if ((f & F_IFACE) !== 0 && this.ifaceOk[r * stride + port] === 0) continue;
      if ((f & F_MARK) !== 0 && ((mark & this.markMask[r]!) === this.markValue[r]) === ((f & F_MARK_NEG) !== 0)) continue;
      if (!this.portsMatch(r, sport, dport)) continue;
      mark = (mark & ~this.markClear[r]!) ^ this.markXor[r]!;
    }
    return mark >>> 0;
  }

  /** Every port match of rule r holds for (sport, dport). */
  private portsMatch(r: number, sport: number, dport: number): boolean {
    const last = this.portFirst[r + 1]!;
    for (let k = this.portFirst[r]!; k < last; k++) {
      const f = this.pmFlags[k]!;
      const end = this.rangeFirst[k + 1]!;
      let hit = false;
      for (let i = this.rangeFirst[k]!; i < end; i++) {
        const from = this.rangeFrom[i]!;
        const to = this.rangeTo[i]!;
        if (((f & PM_SOURCE) !== 0 && sport >= from && sport <= to) || ((f & PM_DESTINATION) !== 0 && dport >= from && dport <= to)) {
          hit = true;
          break;
        }
      }
      if (hit === ((f & PM_NEG) !== 0)) return false;
    }
    return true;
  }

  /**
   * The distinct destination prefixes of the rules, in rule order (for steering and to know
   * which addresses to own). A rule with no -d, or a negated one, contributes 0.0.0.0/0.
   */
  destinationPrefixes(): Ip4Prefix[] {
    const seen = new Set<string>();
    const out: Ip4Prefix[] = [];
    for (const r of this.rules) {
      const p = r.destinationNegated ? { net: 0, len: 0 } : { net: r.destination.net, len: r.destination.len };
      const key = `${p.net}/${p.len}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(p);
    }
    return out;
  }

  /**
   * Kernel-isolation entries for rules with one destination address: one per protocol
   * (all / a negated protocol: each of tcp, udp, sctp it allows) and listed destination port
   * (the intersection when a rule has several destination port matches); port 0 (every
   * port) when the rule has no destination port match, a negated or multiport --ports one,
   * or a range wider than 64 ports. Other rules are returned in `wideRules`.
   */
  isolationEntries(): MarkIsolation {
    const seen = new Set<string>();
    const services: MarkIsolationEntry[] = [];
    const wideRules: MarkRule[] = [];
    for (const rule of this.rules) {
      if (rule.destinationNegated || rule.destination.len !== 32) {
        wideRules.push(rule);
        continue;
      }
      const ports = destinationPorts(rule);
      const vip = ip4ToString(rule.destination.net);
      for (const [number, protocol] of ISOLATION_PROTOCOLS) {
        const allowed = rule.protocol === 0 || (rule.protocol === number) !== rule.protocolNegated;
        if (!allowed) continue;
        for (const port of ports) {
          const key = `${protocol} ${vip} ${port}`;
          if (seen.has(key)) continue;
          seen.add(key);
          services.push({ protocol, vip, port });
        }
      }
    }
    return { services, wideRules };
  }
}

/** The destination ports a rule can match, [0] for "any"; [] if it can match none. */
function destinationPorts(rule: MarkRule): number[] {
  const lists = rule.ports
    .filter((m) => m.direction === 'destination' && !m.negated && m.ranges.every((r) => r.to - r.from < ISOLATION_MAX_PORTS))
    .map((m) => m.ranges.flatMap(({ from, to }) => Array.from({ length: to - from + 1 }, (_, i) => from + i)));
  if (lists.length === 0) return [0];
  return [...new Set(lists[0])].filter((p) => lists.every((l) => l.includes(p))).sort((a, b) => a - b);
}
