// Steering: every packet of a connection, both directions, must reach the worker that owns
// the connection's entry (design.md, hard fact 4). We steer in the kernel with a classic-BPF
// fanout program (PACKET_FANOUT_CBPF) that returns a hash of the CLIENT endpoint:
//   - a packet to a VIP (client -> service):          client = source ip:port
//   - any other packet (a NAT reply from a server):    client = destination ip:port
//   - an ICMP error to a VIP quotes a reply:           client = quoted destination
//   - an ICMP error from elsewhere quotes a request:   client = quoted source
// so both directions hash alike; the kernel takes the result modulo the group size. The
// same function (clientHash) is computed in TypeScript for tests and for hand-offs.
// Non-IPv4 frames (ARP, IPv6 for now) go to member 0, which owns ARP answering.
// IPv4 fragments are reassembled by the fanout's DEFRAG flag before this program runs,
// as IPVS sees reassembled packets.

import { assemble } from '../frameio/bpf.js';

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

/**
 * The fanout program for one interface's group, given the IPv4 VIPs (uint32). Up to a few
 * hundred VIPs (one compare each); the program is rebuilt when the VIP set changes.
 */
export function steeringProgram(vips: readonly number[]): Uint32Array {
  const unique = [...new Set(vips.map((v) => v >>> 0))];
  const compares = unique.map((v, i) => `        jeq #${v}, in, ${i + 1 < unique.length ? `v${i + 1}` : 'out'}`);
  const lines = unique.length === 0 ? ['        ja out'] : compares.map((c, i) => (i === 0 ? c : `v${i}:${c.slice(3 + String(i).length)}`));
  const src = `
        ldh [12]
        jeq #0x800, ip4, other
ip4:    ld [30]
${lines.join('\n')}
${side('in', 26, 14, 38, 24)}
${side('out', 30, 16, 34, 22)}
hash:   ldx M[0]
        xor x
        mul #${GOLDEN}
        rsh #16
        ret a
other:  ret #0
`;
  return assemble(src);
}
