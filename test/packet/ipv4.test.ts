import t from 'tap';
import * as P from '../../src/packet/index.js';
import { bytes, diffFields, flagsOf, frames } from '../fixtures/packet/fixtures.js';

const info = new P.FrameInfo();
const base = (): Uint8Array =>
  P.buildFrame({ eth: {}, ipv4: { src: '192.0.2.1', dst: '192.0.2.2', id: 9 }, udp: { sport: 1, dport: 2 }, payload: '00'.repeat(20) });
const patch = (b: Uint8Array, off: number, val: number, fix = true): Uint8Array => {
  b[off] = val;
  if (fix) P.fillIPv4HeaderChecksum(b, 14, Math.min(60, Math.max(20, (b[14]! & 15) * 4)));
  return b;
};
const parse = (b: Uint8Array, flags = 0, len = b.length): number => P.parseFrame(b, 0, len, info, flags);

t.test('golden IPv4 frames (options, fragments, IPIP, padding)', async (t) => {
  for (const c of frames().filter((x) => x.tags.includes('ipv4'))) {
    const b = bytes(c.hex);
    const r = c.ether ? parse(b, flagsOf(c.flags)) : P.parseIp(b, 0, b.length, info, flagsOf(c.flags));
    t.equal(P.reasonName(r), c.reason, c.name);
    if (c.expect && r === P.OK) t.same(diffFields(info, c.expect), [], c.description);
  }
});

t.test('header field errors', async (t) => {
  t.equal(parse(base(), 0, 14 + 19), P.TRUNCATED_IPV4, '19 bytes of header');
  t.equal(parse(patch(base(), 14, 0x55)), P.BAD_IP_VERSION, 'version 5');
  t.equal(parse(patch(base(), 14, 0x65)), P.BAD_IP_VERSION, 'version 6 under ethertype IPv4');
  t.equal(parse(patch(base(), 14, 0x44)), P.BAD_IHL, 'IHL 4');
  t.equal(parse(patch(base(), 14, 0x40)), P.BAD_IHL, 'IHL 0');
  t.equal(parse(patch(base(), 17, 19)), P.BAD_TOTAL_LENGTH, 'total length 19');
  t.equal(parse(patch(patch(base(), 16, 0), 17, 0)), P.BAD_TOTAL_LENGTH, 'total length 0 without GSO');
  t.equal(parse(patch(base(), 14, 0x4f)), P.BAD_TOTAL_LENGTH, 'IHL 15 (60 bytes) > total length 48');
  t.equal(parse(patch(base(), 17, 49)), P.IP_LENGTH_EXCEEDS_FRAME, 'total length one past the frame');
  t.equal(parse(patch(base(), 17, 47)), P.BAD_UDP_LENGTH, 'total length one short: UDP length now too long');
  const tcp = P.buildFrame({ eth: {}, ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: { sport: 1, dport: 2 }, payload: '00'.repeat(6) });
  tcp[17] -= 1;
  P.fillIPv4HeaderChecksum(tcp, 14, 20);
  t.equal(parse(tcp), P.OK, 'total length one short: trailing byte is padding');
  t.equal(info.ipEnd, tcp.length - 1);
  t.equal(info.frameEnd, tcp.length);
  t.equal(parse(patch(base(), 24, 0x40, false), P.PARSE_VERIFY_IPV4_CSUM), P.BAD_IPV4_CHECKSUM, 'TTL changed, checksum not');
});

t.test('fragments', async (t) => {
  // Fragment data starts with a UDP header claiming 1000 bytes (the whole datagram).
  const udpHdr = '0007000903e80000';
  const mk = (fragOffset: number, mf: boolean, payloadLen = 16): Uint8Array =>
    P.buildFrame({
      eth: {},
      ipv4: { src: '1.1.1.1', dst: '2.2.2.2', id: 77, fragOffset, mf, proto: 17 },
      payload: (udpHdr + '00'.repeat(payloadLen)).slice(0, payloadLen * 2),
    });
  t.equal(parse(mk(0, true)), P.OK);
  t.equal(info.fragment, P.FRAG_FIRST);
  t.equal(info.srcPort, 7, 'first fragment carries the UDP header');
  t.equal(info.dstPort, 9);
  t.equal(parse(mk(8, true)), P.OK);
  t.equal(info.fragment, P.FRAG_LATER);
  t.equal(info.fragOffset, 8);
  t.equal(info.l4CsumOffset, -1);
  t.equal(parse(mk(8, false)), P.OK, 'last fragment');
  t.equal(info.fragment, P.FRAG_LATER);
  t.equal(info.moreFragments, 0);
  t.equal(parse(mk(65528, false, 7)), P.OK, 'ends exactly at 65535');
  t.equal(parse(mk(65528, false, 8)), P.BAD_FRAGMENT, 'ping of death: ends past 65535');
  t.equal(parse(mk(0, true, 3)), P.TRUNCATED_L4, 'first fragment too short for the UDP header');
  const df = P.buildFrame({ eth: {}, ipv4: { src: '1.1.1.1', dst: '2.2.2.2', df: true }, udp: { sport: 1, dport: 2 } });
  t.equal(parse(df), P.OK);
  t.equal(info.dontFragment, 1);
  t.equal(info.fragment, P.FRAG_NONE);
});

t.test('GSO: length 0 or beyond the frame takes the frame end', async (t) => {
  const b = patch(patch(base(), 16, 0), 17, 0);
  t.equal(parse(b, P.PARSE_GSO), P.OK);
  t.equal(info.ipEnd, b.length);
  t.equal(info.lengthFromFrame, 1);
  t.equal(parse(patch(base(), 16, 0xff), P.PARSE_GSO), P.OK);
  t.equal(info.ipEnd, b.length);
  // IHL larger than what the frame holds, GSO or not.
  const short = patch(base(), 14, 0x4f);
  t.equal(parse(short, P.PARSE_GSO, 14 + 40), P.BAD_TOTAL_LENGTH);
  const s2 = patch(short, 16, 0xff);
  t.equal(parse(s2, P.PARSE_GSO, 14 + 40), P.TRUNCATED_IPV4, 'clamped length shorter than IHL');
});

t.test('TOS, TTL, id, addresses as uint32', async (t) => {
  const b = P.buildFrame({ eth: {}, ipv4: { src: '255.255.255.254', dst: '128.0.0.1', tos: 0xb8, ttl: 7, id: 0xbeef }, tcp: { sport: 1, dport: 2 } });
  t.equal(parse(b), P.OK);
  t.equal(info.src4, 0xfffffffe);
  t.equal(info.dst4, 0x80000001);
  t.equal(info.tos, 0xb8);
  t.equal(info.ttl, 7);
  t.equal(info.ipId, 0xbeef);
  t.equal(P.ip4ToString(info.src4), '255.255.255.254');
});
