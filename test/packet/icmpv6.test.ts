import t from 'tap';
import * as P from '../../src/packet/index.js';
import { bytes, diffFields, frames } from '../fixtures/packet/fixtures.js';

const info = new P.FrameInfo();
const parse = (b: Uint8Array): number => P.parseFrame(b, 0, b.length, info);
const err = (quote: P.FrameDesc, quoteLen?: number, type = 1, mtu?: number): Uint8Array =>
  P.buildFrame({ eth: {}, ipv6: { src: 'fd00::1', dst: '2001:db8::1' }, icmpv6: { type, mtu, quote, quoteLen } });
const Q: P.FrameDesc = {
  ipv6: { src: '2001:db8::1', dst: 'fd00::9', ext: [{ type: 'hbh' }, { type: 'dst', options: '0102aabb' }] },
  udp: { sport: 1111, dport: 2222 },
  payload: '00'.repeat(30),
};

t.test('golden ICMPv6 frames', async (t) => {
  for (const c of frames().filter((x) => x.tags.includes('icmpv6'))) {
    const b = bytes(c.hex);
    t.equal(parse(b), P.OK, c.name);
    t.same(diffFields(info, c.expect!), [], c.description);
  }
});

t.test('quoted IPv6 packet with extension headers', async (t) => {
  t.equal(parse(err(Q, undefined, 2, 1400)), P.OK);
  t.equal(info.icmpMtu, 1400);
  t.equal(info.innerReason, P.OK);
  t.equal(info.innerIpHeaderLen, 56);
  t.equal(info.innerProtocol, P.IPPROTO_UDP);
  t.equal(info.innerSrcPort, 1111);
  t.equal(info.innerL4CsumOffset, info.innerL4Offset + 6);
  t.equal(parse(err(Q, 40 + 16 + 8)), P.OK);
  t.equal(info.innerReason, P.OK);
  t.equal(parse(err(Q, 40 + 16 + 7)), P.OK);
  t.equal(info.innerReason, P.ICMP_INNER_L4_TRUNCATED);
  t.equal(parse(err(Q, 40 + 12)), P.OK);
  t.equal(info.innerReason, P.ICMP_INNER_TRUNCATED, 'cut inside the destination options');
  t.equal(parse(err(Q, 39)), P.OK);
  t.equal(info.innerReason, P.ICMP_INNER_TRUNCATED);
  const v4 = P.buildFrame({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { sport: 1, dport: 2 }, payload: '00'.repeat(20) });
  t.equal(parse(err({ payload: P.bytesToHex(v4) })), P.OK);
  t.equal(info.innerReason, P.ICMP_INNER_BAD_HEADER, 'IPv4 quoted in ICMPv6');
  const deep: P.FrameDesc = { ipv6: { src: '::1', dst: '::2', ext: Array.from({ length: 9 }, () => ({ type: 'dst' as const })) }, udp: { sport: 1, dport: 2 } };
  t.equal(parse(err(deep)), P.OK);
  t.equal(info.innerReason, P.ICMP_INNER_BAD_HEADER, 'quoted chain too long');
  const frag: P.FrameDesc = { ipv6: { src: '::1', dst: '::2', ext: [{ type: 'frag', fragOffset: 8 }], nh: 17 }, payload: '00'.repeat(8) };
  t.equal(parse(err(frag)), P.OK);
  t.equal(info.innerFragment, P.FRAG_LATER);
  t.equal(info.innerSrcPort, 0);
});

t.test('types', async (t) => {
  for (const type of [1, 2, 3, 4]) {
    t.equal(parse(err(Q, undefined, type)), P.OK);
    t.equal(info.icmpError, 1, `type ${type} quotes`);
  }
  const ns = P.buildFrame({ eth: {}, ipv6: { src: '::', dst: 'ff02::1:ff00:1', hlim: 255 }, icmpv6: { type: 135, rest: 0 }, payload: P.bytesToHex(P.ip6FromString('fe80::1')) });
  t.equal(parse(ns), P.OK);
  t.equal(info.icmpType, P.ICMPV6_NDISC_NS);
  t.equal(info.icmpError, 0);
  t.ok(P.verifyIcmpv6(ns, info), 'builder computed the ICMPv6 checksum');
  const v4icmp6 = P.buildFrame({ eth: {}, ipv4: { src: '1.1.1.1', dst: '2.2.2.2', proto: 58 }, payload: '8000000000000000' });
  t.equal(parse(v4icmp6), P.OK, 'ICMPv6 over IPv4: unknown protocol');
  t.equal(info.l4HeaderLen, 0, 'not parsed: icmp* fields not valid');
  t.equal(info.icmpError, 0);
});
