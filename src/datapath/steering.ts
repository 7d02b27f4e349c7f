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
in:     ldxb 4*([14]&0xf)
        ldb [23]
        jeq #1, in_icmp
        jeq #6, in_ports
        jeq #17, in_ports, in_noport
in_icmp: ldb [x + 14]
        jeq #3, in_err
        jeq #4, in_err
        jeq #11, in_err
        jeq #12, in_err, in_noport
in_err: ld [x + 38]
        st M[1]
        ldb [x + 22]
        and #0xf
        lsh #2
        add x
        tax
        ldh [x + 24]
        st M[0]
        ld M[1]
        ja hash
in_ports: ldh [x + 14]
        st M[0]
        ld [26]
        ja hash
in_noport: ld #0
        st M[0]
        ld [26]
        ja hash
out:    ldxb 4*([14]&0xf)
        ldb [23]
        jeq #1, out_icmp
        jeq #6, out_ports
        jeq #17, out_ports, out_noport
out_icmp: ldb [x + 14]
        jeq #3, out_err
        jeq #4, out_err
        jeq #11, out_err
        jeq #12, out_err, out_noport
out_err: ld [x + 34]
        st M[1]
        ldb [x + 22]
        and #0xf
        lsh #2
        add x
        tax
        ldh [x + 22]
        st M[0]
        ld M[1]
        ja hash
out_ports: ldh [x + 16]
        st M[0]
        ld [30]
        ja hash
out_noport: ld #0
        st M[0]
        ld [30]
        ja hash
hash:   ldx M[0]
        xor x
        mul #${GOLDEN}
        rsh #16
        ret a
other:  ret #0
`;
  return assemble(src);
}
