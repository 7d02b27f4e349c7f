// Steering: every packet of a connection, both directions, must reach the worker that owns
// the connection's entry (design.md, hard fact 4). We steer in the kernel with a classic-BPF
// fanout program (PACKET_FANOUT_CBPF) that returns a hash of the CLIENT endpoint:
//   - a packet to a VIP (client -> service):          client = source ip:port
//   - any other packet (a NAT reply from a server):    client = destination ip:port
//   - an ICMP error to a VIP quotes a reply:           client = quoted destination
//   - an ICMP error from elsewhere quotes a request:   client = quoted source
// so both directions hash alike; the kernel takes the result modulo the group size. The
// same function (clientHash) is computed in TypeScript for tests and for hand-offs, and
// steersAsInbound() tells which of the two cases a destination is.
// "A VIP" is an exact VIP or an address inside a destination prefix of the firewall-mark
// rules (tables/fwmark.ts), whose services have no single address. A 0.0.0.0/0 prefix (a
// MARK rule without -d, or with a negated one) makes every IPv4 packet "to a VIP": NAT
// replies are then steered by the real server's endpoint, not the client's, so with more
// than one worker they may reach a worker that does not own their connection. Rules for
// NAT services should name their destinations.
// Non-IPv4 frames (ARP, IPv6 for now) go to member 0, which owns ARP answering.
// IPv4 fragments are reassembled by the fanout's DEFRAG flag before this program runs,
// as IPVS sees reassembled packets.

import { UvsError } from '../errors.js';
import { assemble } from '../frameio/bpf.js';
import { prefixMask } from '../tables/fwmark-rules.js';

const GOLDEN = 0x9e3779b1;

/** The hash the steering program computes (same 32-bit arithmetic). */
export function clientHash(ip: number, port: number): number {
  return Math.imul((ip ^ port) >>> 0, GOLDEN) >>> 16;
}

/**
 * One direction's part of the program: `ipOff`/`portOff` locate the client's address and
 * port in a TCP/UDP packet (port relative to the transport header, via X = IHL*4), and
 * `quotedIpOff`/`quotedPortOff` in the packet an ICMP error quotes (the quoted port
 * relative to X = outer IHL + quoted IHL).
 */
function side(label: string, ipOff: number, portOff: number, quotedIpOff: number, quotedPortOff: number): string {
  return `${label}: ldxb 4*([14]&0xf)
        ldb [23]
        jeq #1, ${label}_icmp
        jeq #6, ${label}_ports
        jeq #17, ${label}_ports, ${label}_noport
${label}_icmp: ldb [x + 14]
        jeq #3, ${label}_err
        jeq #4, ${label}_err
        jeq #11, ${label}_err
        jeq #12, ${label}_err, ${label}_noport
${label}_err: ld [x + ${quotedIpOff}]
        st M[1]
        ldb [x + 22]
        and #0xf
        lsh #2
        add x
        tax
        ldh [x + ${quotedPortOff}]
        st M[0]
        ld M[1]
        ja hash
${label}_ports: ldh [x + ${portOff}]
        st M[0]
        ld [${ipOff}]
        ja hash
${label}_noport: ld #0
        st M[0]
        ld [${ipOff}]
        ja hash`;
}

/** A destination prefix (net: uint32, len 0..32) that counts as "to a VIP". */
export interface SteeringPrefix {
  net: number;
  len: number;
}

/** The classic-BPF limit on a program's length (BPF_MAXINSNS). */
const MAX_INSTRUCTIONS = 4096;
/**
 * Conditional jumps reach at most 255 instructions ahead, so the VIP and prefix compares
 * come in blocks of at most this many instructions, each followed by an unconditional
 * (32-bit offset) jump to the inbound code that its compares branch to.
 */
const BLOCK = 250;

/** The test the program makes, normalised: exact addresses, and nets grouped by mask. */
function inboundSet(vips: readonly number[], prefixes: readonly SteeringPrefix[]): { everything: boolean; exact: number[]; masked: Map<number, number[]> } {
  const exact = new Set(vips.map((v) => v >>> 0));
  const masked = new Map<number, Set<number>>();
  let everything = false;
  for (const { net, len } of prefixes) {
    if (!(Number.isInteger(len) && len >= 0 && len <= 32)) throw new RangeError(`steering prefix length ${len} is not 0..32`);
    const mask = prefixMask(len);
    if (len === 0) everything = true;
    else if (len === 32) exact.add(net >>> 0);
    else {
      const nets = masked.get(mask) ?? new Set<number>();
      nets.add((net & mask) >>> 0);
      masked.set(mask, nets);
    }
  }
  return { everything, exact: [...exact], masked: new Map([...masked].map(([m, nets]) => [m, [...nets]])) };
}

/**
 * What the program decides, in TypeScript: is a packet to `daddr` "to a VIP" (steered by
 * its source endpoint) rather than a reply (steered by its destination endpoint)?
 */
export function steersAsInbound(daddr: number, vips: readonly number[], prefixes: readonly SteeringPrefix[] = []): boolean {
  const d = daddr >>> 0;
  return vips.some((v) => v >>> 0 === d) || prefixes.some(({ net, len }) => ((d & prefixMask(len)) >>> 0) === ((net & prefixMask(len)) >>> 0));
}

/**
 * The fanout program for one interface's group, given the IPv4 VIPs (uint32) and the
 * destination prefixes of firewall-mark rules. One compare per VIP or prefix (plus two
 * instructions per prefix length and per block of 250); about 4000 in all fit the cBPF
 * limit, beyond which this throws UvsError UVS_STEERING_PROGRAM. The program is rebuilt
 * when the set changes.
 */
export function steeringProgram(vips: readonly number[], prefixes: readonly SteeringPrefix[] = []): Uint32Array {
  const { everything, exact, masked } = inboundSet(vips, prefixes);
  // Straight-line items: compares (which branch to "inbound") and the loads before them.
  const items: { insn: string; compare: boolean }[] = [];
  if (!everything) {
    if (exact.length > 0) items.push({ insn: 'ld [30]', compare: false });
    for (const v of exact) items.push({ insn: `jeq #${v}`, compare: true });
    for (const [mask, nets] of masked) {
      items.push({ insn: 'ld [30]', compare: false }, { insn: `and #${mask}`, compare: false });
      for (const n of nets) items.push({ insn: `jeq #${n}`, compare: true });
    }
  }
  const test: string[] = [];
  if (everything) test.push('        ja in');
  else {
    const blocks = Math.max(1, Math.ceil(items.length / BLOCK));
    for (let b = 0; b < blocks; b++) {
      const last = b === blocks - 1;
      // The last block's compares reach the inbound code itself, right after `ja out`.
      const hit = last ? 'in' : `hit${b}`;
      for (const { insn, compare } of items.slice(b * BLOCK, (b + 1) * BLOCK)) test.push(`        ${compare ? `${insn}, ${hit}` : insn}`);
      if (last) test.push('        ja out');
      else test.push(`        ja block${b + 1}`, `hit${b}:   ja in`, `block${b + 1}:`);
    }
  }
  const src = `
        ldh [12]
        jeq #0x800, ip4
        ret #0
ip4:
${test.join('\n')}
${side('in', 26, 14, 38, 24)}
${side('out', 30, 16, 34, 22)}
hash:   ldx M[0]
        xor x
        mul #${GOLDEN}
        rsh #16
        ret a
`;
  const length = src.split('\n').filter((l) => l.replace(/^\s*[A-Za-z_.][\w.]*\s*:/, '').trim() !== '').length;
  if (length > MAX_INSTRUCTIONS) {
    throw new UvsError('UVS_STEERING_PROGRAM', `the steering program for ${exact.length} VIPs and ${prefixes.length} prefixes needs ${length} instructions; classic BPF allows ${MAX_INSTRUCTIONS}`);
  }
  return assemble(src);
}
