// writeIcmpError / writeIcmpv6Error (src/packet/icmp-error.ts): errors equal scapy's
// construction byte for byte, parse back as errors quoting the offending packet, and the
// never-send rules come back as reason codes.
import t from 'tap';
import * as P from '../../src/packet/index.js';
import { bytes, hexDiff } from '../fixtures/packet/fixtures.js';
import { hex, icmpCases, type IcmpCase } from '../fixtures/packet/segmentation.js';

const VERIFY = P.PARSE_VERIFY_IPV4_CSUM | P.PARSE_VERIFY_L4_CSUM;
const ROUTER_MAC = P.macFromString('02:75:76:18:00:02');
const ROUTER4 = P.ip4FromString('198.18.0.2');
const ROUTER6 = P.ip6FromString('fd00:18::2');

function write(c: IcmpCase, src: Uint8Array, info: P.FrameInfo, dst: Uint8Array, off: number, cap: number): number {
  const smac = P.macFromString(c.srcMac);
  const dmac = P.macFromString(c.dstMac);
  if (c.family === 4) {
    return P.writeIcmpError(dst, off, cap, smac, 0, dmac, 0, P.ip4FromString(c.src), P.ip4FromString(c.dst), c.id, c.type, c.code, c.rest, src, info);
  }
  return P.writeIcmpv6Error(dst, off, cap, smac, 0, dmac, 0, P.ip6FromString(c.src), 0, P.ip6FromString(c.dst), 0, c.type, c.code, c.rest, src, info);
}

t.test('golden: errors equal scapy, byte for byte', async (t) => {
  const cases = icmpCases();
  t.ok(cases.length >= 7, 'fixtures loaded');
  for (const c of cases) {
    const src = bytes(c.in);
    const info = new P.FrameInfo();
    t.equal(P.parseFrame(src, 0, src.length, info), P.OK, `${c.name}: parses`);
    const dst = new Uint8Array(2000);
    const n = write(c, src, info, dst, 5, 1500);
    t.ok(n > 0, `${c.name}: written (${n > 0 ? n : P.reasonName(-n)})`);
    const got = hex(dst.subarray(5, 5 + n));
    t.equal(got, c.out, `${c.name}: ${hexDiff(got, c.out)}`);
    t.ok(n <= 14 + (c.family === 4 ? P.ICMP_ERROR_MAX_LEN : P.ICMPV6_ERROR_MAX_LEN), 'within the size limit');
    // Parses back as an error quoting the offending packet's addresses and ports.
    const e = new P.FrameInfo();
    t.equal(P.parseFrame(dst, 5, n, e, VERIFY), P.OK, `${c.name}: output verifies`);
    t.equal(e.icmpError, 1);
    t.equal(e.innerReason, P.OK);
    t.equal(e.icmpType, c.type);
    if (c.rest !== 0) t.equal(e.icmpMtu, c.rest);
    t.equal(e.innerSrcPort, info.srcPort);
    t.equal(e.innerDstPort, info.dstPort);
    if (c.family === 4) t.equal(e.innerSrc4, info.src4);
  }
});

t.test('same array for the offending frame and the TX slot', async (t) => {
  for (const c of icmpCases()) {
    const input = bytes(c.in);
    const ring = new Uint8Array(input.length + 1400);
    ring.set(input);
    const info = new P.FrameInfo();
    P.parseFrame(ring, 0, input.length, info);
    const n = write(c, ring, info, ring, input.length + 1, 1399);
    t.equal(hex(ring.subarray(input.length + 1, input.length + 1 + n)), c.out, c.name);
  }
});

function frame(d: P.FrameDesc): { b: Uint8Array; info: P.FrameInfo } {
  const b = P.buildFrame(d);
  const info = new P.FrameInfo();
  const r = P.parseFrame(b, 0, b.length, info);
  if (r !== P.OK) throw new Error(`test frame does not parse: ${P.reasonName(r)}`);
  return { b, info };
}

function v4(d: P.FrameDesc, type = 3, code = 3): string {
  const { b, info } = frame(d);
  const dst = new Uint8Array(1000);
  const n = P.writeIcmpError(dst, 0, dst.length, ROUTER_MAC, 0, b, 6, ROUTER4, info.src4, 1, type, code, 0, b, info);
  const a = P.icmpErrorAllowed(b, info, type, code);
  if ((n > 0 ? P.OK : -n) !== a) throw new Error('icmpErrorAllowed disagrees with the writer');
  return n > 0 ? 'sent' : P.reasonName(-n);
}

function v6(d: P.FrameDesc, type: number, code = 0): string {
  const { b, info } = frame(d);
  const dst = new Uint8Array(1400);
  const n = P.writeIcmpv6Error(dst, 0, dst.length, ROUTER_MAC, 0, b, 6, ROUTER6, 0, b, info.srcAddrOffset, type, code, 1280, b, info);
  return n > 0 ? 'sent' : P.reasonName(-n);
}

const IP4 = { src: '198.18.0.10', dst: '198.19.0.11' };
const UDP = { sport: 1000, dport: 2000 };

t.test('IPv4 never-send rules', async (t) => {
  t.equal(v4({ eth: {}, ipv4: IP4, udp: UDP }), 'sent', 'plain UDP');
  const quote = { ipv4: { src: '198.19.0.11', dst: '198.18.0.10' }, udp: { sport: 2000, dport: 1000 } };
  for (const type of [3, 4, 5, 11, 12]) {
    t.equal(v4({ eth: {}, ipv4: IP4, icmp: { type, code: 0, quote } }), 'NO_ICMP_FOR_ICMP_ERROR', `about ICMP error type ${type}`);
  }
  t.equal(v4({ eth: {}, ipv4: IP4, icmp: { type: 8, id: 1, seq: 1 } }), 'sent', 'about an echo request');
  t.equal(v4({ eth: {}, ipv4: IP4, icmp: { type: 0, id: 1, seq: 1 } }), 'sent', 'about an echo reply');
  t.equal(v4({ eth: {}, ipv4: IP4, icmp: { type: 19, rest: 0 } }), 'NO_ICMP_FOR_ICMP_ERROR', 'about an unknown ICMP type');
  t.equal(v4({ eth: {}, ipv4: { ...IP4, fragOffset: 1480 }, payload: '00'.repeat(40) }), 'NO_ICMP_FOR_FRAGMENT', 'non-first fragment');
  t.equal(v4({ eth: {}, ipv4: { ...IP4, mf: true }, udp: UDP, payload: '00'.repeat(40) }), 'sent', 'first fragment');
  t.equal(v4({ eth: {}, ipv4: { ...IP4, dst: '224.0.0.5' }, udp: UDP }), 'NO_ICMP_FOR_MULTICAST', 'multicast destination');
  t.equal(v4({ eth: {}, ipv4: { ...IP4, dst: '239.255.255.250' }, udp: UDP }), 'NO_ICMP_FOR_MULTICAST');
  t.equal(v4({ eth: {}, ipv4: { ...IP4, dst: '255.255.255.255' }, udp: UDP }), 'NO_ICMP_FOR_MULTICAST', 'limited broadcast');
  t.equal(v4({ eth: { dst: 'ff:ff:ff:ff:ff:ff' }, ipv4: IP4, udp: UDP }), 'NO_ICMP_FOR_MULTICAST', 'link broadcast');
  t.equal(v4({ eth: { dst: '01:00:5e:00:00:05' }, ipv4: IP4, udp: UDP }), 'NO_ICMP_FOR_MULTICAST', 'link multicast');
  for (const s of ['0.0.0.0', '0.1.2.3', '127.0.0.1', '224.0.0.1', '240.0.0.1', '255.255.255.255']) {
    t.equal(v4({ eth: {}, ipv4: { ...IP4, src: s }, udp: UDP }), 'NO_ICMP_FOR_BAD_SOURCE', `source ${s}`);
  }
  // Bare IP packets (no link header) skip the link check.
  const ip = P.buildFrame({ ipv4: IP4, udp: UDP });
  const info = new P.FrameInfo();
  t.equal(P.parseIp(ip, 0, ip.length, info), P.OK);
  t.ok(P.writeIcmpError(new Uint8Array(200), 0, 200, ROUTER_MAC, 0, ROUTER_MAC, 0, ROUTER4, info.src4, 0, 3, 3, 0, ip, info) > 0, 'bare IP');
});

t.test('ICMPv6 never-send rules', async (t) => {
  const IP6 = { src: 'fd00:18::10', dst: 'fd00:19::11' };
  t.equal(v6({ eth: {}, ipv6: IP6, udp: UDP }, 1, 4), 'sent', 'plain UDP');
  const quote = { ipv6: { src: 'fd00:19::11', dst: 'fd00:18::10' }, udp: { sport: 2000, dport: 1000 } };
  for (const type of [1, 2, 3, 4]) {
    t.equal(v6({ eth: {}, ipv6: IP6, icmpv6: { type, quote } }, 2), 'NO_ICMP_FOR_ICMP_ERROR', `about ICMPv6 error ${type}`);
  }
  t.equal(v6({ eth: {}, ipv6: IP6, icmpv6: { type: 128, id: 1, seq: 1 } }, 2), 'sent', 'about an echo request');
  const mc = { eth: { dst: '33:33:00:00:00:01' }, ipv6: { ...IP6, dst: 'ff02::1' }, udp: UDP };
  t.equal(v6(mc, 3), 'NO_ICMP_FOR_MULTICAST', 'time exceeded about multicast');
  t.equal(v6(mc, 1, 4), 'NO_ICMP_FOR_MULTICAST', 'unreachable about multicast');
  t.equal(v6(mc, 2), 'sent', 'packet too big about multicast is allowed (RFC 4443 2.4 e.3)');
  t.equal(v6(mc, 4, 2), 'sent', 'parameter problem code 2 too');
  t.equal(v6({ eth: { dst: 'ff:ff:ff:ff:ff:ff' }, ipv6: IP6, udp: UDP }, 3), 'NO_ICMP_FOR_MULTICAST', 'link broadcast');
  for (const s of ['::', '::1', 'ff02::1']) {
    t.equal(v6({ eth: {}, ipv6: { ...IP6, src: s }, udp: UDP }, 2), 'NO_ICMP_FOR_BAD_SOURCE', `source ${s}`);
  }
  t.equal(
    v6({ eth: {}, ipv6: { ...IP6, nh: 58, ext: [{ type: 'frag', fragOffset: 8, id: 1 }] }, payload: '00'.repeat(16) }, 2),
    'NO_ICMP_FOR_FRAGMENT',
    'non-first fragment of an ICMPv6 message',
  );
  t.equal(v6({ eth: {}, ipv6: { ...IP6, nh: 17, ext: [{ type: 'frag', fragOffset: 8, id: 1 }] }, payload: '00'.repeat(16) }, 2), 'sent', 'non-first fragment of UDP');
});

t.test('reasons: family, room, bounds', async (t) => {
  const { b, info } = frame({ eth: {}, ipv4: IP4, udp: UDP, payload: '00'.repeat(1000) });
  const dst = new Uint8Array(1000);
  const w = (cap: number, off = 0): number => P.writeIcmpError(dst, off, cap, ROUTER_MAC, 0, b, 6, ROUTER4, info.src4, 0, 3, 4, 1400, b, info);
  t.equal(w(14 + 576), 14 + 576, 'exactly fits');
  t.equal(P.reasonName(-w(14 + 575)), 'NO_ROOM');
  t.equal(P.reasonName(-w(500, 600)), 'BAD_BOUNDS');
  const v6f = frame({ eth: {}, ipv6: { src: '::5', dst: '::6' }, udp: UDP });
  t.equal(P.reasonName(-P.writeIcmpError(dst, 0, 600, ROUTER_MAC, 0, ROUTER_MAC, 0, 1, 2, 0, 3, 3, 0, v6f.b, v6f.info)), 'UNSUPPORTED_PROTOCOL');
  t.equal(
    P.reasonName(-P.writeIcmpv6Error(dst, 0, 600, ROUTER_MAC, 0, ROUTER_MAC, 0, ROUTER6, 0, ROUTER6, 0, 2, 0, 1280, b, info)),
    'UNSUPPORTED_PROTOCOL',
  );
  t.equal(
    P.reasonName(-P.writeIcmpv6Error(dst, 0, 600, ROUTER_MAC, 0, ROUTER_MAC, 0, ROUTER6, 10, ROUTER6, 0, 2, 0, 1280, v6f.b, v6f.info)),
    'BAD_BOUNDS',
    'address offset past its array',
  );
  t.equal(P.reasonName(-P.writeIcmpError(dst, 0, 600, ROUTER_MAC, 0, ROUTER_MAC, 0, 1, 2, 0, 3, 3, 0, b.subarray(0, 40), info)), 'BAD_BOUNDS', 'info past the quoted array');
  const arp = frame({ eth: {}, arp: { spa: '10.0.0.1', tpa: '10.0.0.2' } });
  t.equal(P.reasonName(P.icmpErrorAllowed(arp.b, arp.info, 3, 3)), 'UNSUPPORTED_PROTOCOL');
});
