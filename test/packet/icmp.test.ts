import t from 'tap';
import * as P from '../../src/packet/index.js';
import { bytes, diffFields, frames } from '../fixtures/packet/fixtures.js';

const info = new P.FrameInfo();
const parse = (b: Uint8Array): number => P.parseFrame(b, 0, b.length, info);
const err = (quote: P.FrameDesc, quoteLen?: number, type = 3, code = 1): Uint8Array =>
  P.buildFrame({ eth: {}, ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, icmp: { type, code, quote, quoteLen } });
const Q: P.FrameDesc = { ipv4: { src: '10.0.0.2', dst: '10.0.0.9' }, tcp: { sport: 1111, dport: 2222 }, payload: '00'.repeat(30) };

t.test('golden ICMP frames: echo and errors with quoted packets', async (t) => {
  for (const c of frames().filter((x) => x.tags.includes('icmp'))) {
    const b = bytes(c.hex);
    t.equal(parse(b), P.OK, c.name);
    t.same(diffFields(info, c.expect!), [], c.description);
  }
});

t.test('quoted packet reasons do not fail the outer parse', async (t) => {
  t.equal(parse(err(Q, 28)), P.OK);
  t.equal(info.innerReason, P.OK);
  t.equal(info.innerL4CsumOffset, -1, '8 bytes of TCP: checksum not quoted');
  t.equal(parse(err(Q, 38)), P.OK);
  t.equal(info.innerL4CsumOffset, info.innerL4Offset + 16, '18 bytes of TCP: checksum quoted');
  t.equal(parse(err(Q, 27)), P.OK);
  t.equal(info.innerReason, P.ICMP_INNER_L4_TRUNCATED, '7 bytes of TCP');
  t.equal(parse(err(Q, 19)), P.OK);
  t.equal(info.innerReason, P.ICMP_INNER_TRUNCATED);
  t.equal(parse(err(Q, 0)), P.OK);
  t.equal(info.innerReason, P.ICMP_INNER_TRUNCATED, 'nothing quoted');
  const opts: P.FrameDesc = { ...Q, ipv4: { ...Q.ipv4!, options: '01010101' } };
  t.equal(parse(err(opts, 23)), P.OK);
  t.equal(info.innerReason, P.ICMP_INNER_TRUNCATED, 'quoted IHL 6, 23 bytes');
  t.equal(parse(err(opts, 32)), P.OK);
  t.equal(info.innerReason, P.OK);
  t.equal(info.innerIpHeaderLen, 24);
  const v6q = P.buildFrame({ ipv6: { src: '::1', dst: '::2' }, udp: { sport: 1, dport: 2 } });
  t.equal(parse(err({ payload: P.bytesToHex(v6q) })), P.OK);
  t.equal(info.innerReason, P.ICMP_INNER_BAD_HEADER, 'IPv6 quoted in ICMPv4');
  const badIhl = P.buildFrame(Q);
  badIhl[0] = 0x43;
  t.equal(parse(err({ payload: P.bytesToHex(badIhl) })), P.OK);
  t.equal(info.innerReason, P.ICMP_INNER_BAD_HEADER);
  const badLen = P.buildFrame(Q);
  badLen[2] = 0;
  badLen[3] = 10;
  t.equal(parse(err({ payload: P.bytesToHex(badLen) })), P.OK);
  t.equal(info.innerReason, P.ICMP_INNER_BAD_HEADER, 'quoted total length < IHL');
});

t.test('quoted fragments and other protocols', async (t) => {
  const later: P.FrameDesc = { ipv4: { src: '10.0.0.2', dst: '10.0.0.9', fragOffset: 1480, proto: 6 }, payload: '00'.repeat(8) };
  t.equal(parse(err(later)), P.OK);
  t.equal(info.innerReason, P.OK);
  t.equal(info.innerFragment, P.FRAG_LATER);
  t.equal(info.innerSrcPort, 0);
  t.equal(P.icmpInnerSetDstPort(err(later), info, 1), P.NOT_APPLICABLE);
  const echo: P.FrameDesc = { ipv4: { src: '10.0.0.2', dst: '10.0.0.9' }, icmp: { type: 8, id: 5, seq: 1 } };
  t.equal(parse(err(echo)), P.OK);
  t.equal(info.innerProtocol, P.IPPROTO_ICMP);
  t.equal(info.innerSrcPort, 0);
  t.equal(info.innerL4CsumOffset, info.innerL4Offset + 2);
  const gre: P.FrameDesc = { ipv4: { src: '10.0.0.2', dst: '10.0.0.9', proto: 47 }, payload: '0000' };
  t.equal(parse(err(gre)), P.OK);
  t.equal(info.innerReason, P.OK, 'unknown quoted protocol: addresses only');
});

t.test('types', async (t) => {
  for (const type of [3, 4, 5, 11, 12]) {
    t.ok(P.isIcmpErrorType(type), `type ${type} is an error`);
    t.equal(parse(err(Q, 28, type, 0)), P.OK);
    t.equal(info.icmpError, 1);
    t.equal(info.innerDstPort, 2222);
  }
  for (const type of [0, 8, 13, 14, 9, 10]) t.notOk(P.isIcmpErrorType(type), `type ${type} is not an error`);
  t.equal(parse(err(Q, 28, 3, 4)), P.OK);
  t.equal(info.icmpMtu, 0, 'frag-needed built without an MTU');
  const ts = P.buildFrame({ eth: {}, ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, icmp: { type: 13, rest: 0x12345678 }, payload: '00'.repeat(12) });
  t.equal(parse(ts), P.OK);
  t.equal(info.icmpError, 0);
  t.equal(info.icmpId, 0, 'id only for echo');
  const short = P.buildFrame({ eth: {}, ipv4: { src: '1.1.1.1', dst: '2.2.2.2', proto: 1 }, payload: '08000000000000' });
  t.equal(parse(short), P.TRUNCATED_L4, '7-byte ICMP');
  const v6icmp = P.buildFrame({ eth: {}, ipv6: { src: '::1', dst: '::2', nh: 1 }, payload: '0800000000000000' });
  t.equal(parse(v6icmp), P.OK, 'ICMPv4 over IPv6 is just an unknown protocol');
  t.equal(info.l4HeaderLen, 0, 'not parsed: icmp* fields not valid');
  t.equal(info.icmpError, 0);
});
