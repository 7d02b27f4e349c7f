import t from 'tap';
import * as P from '../../src/packet/index.js';
import { bytes, diffFields, frames } from '../fixtures/packet/fixtures.js';

const info = new P.FrameInfo();
const parse = (b: Uint8Array, flags = 0, len = b.length): number => P.parseFrame(b, 0, len, info, flags);
const v6 = (ext: P.Ipv6ExtDesc[], extra: Partial<P.FrameDesc> = { udp: { sport: 1, dport: 2 }, payload: '0102' }): Uint8Array =>
  P.buildFrame({ eth: {}, ipv6: { src: '2001:db8::1', dst: '2001:db8::2', ext }, ...extra });

t.test('golden IPv6 frames (extension headers, fragments, QinQ)', async (t) => {
  for (const c of frames().filter((x) => x.tags.includes('ipv6'))) {
    const b = bytes(c.hex);
    t.equal(P.reasonName(parse(b)), c.reason, c.name);
    if (c.expect) t.same(diffFields(info, c.expect), [], c.description);
  }
});

t.test('extension header walk limits', async (t) => {
  const dst = (n: number): P.Ipv6ExtDesc[] => Array.from({ length: n }, () => ({ type: 'dst' as const }));
  t.equal(parse(v6(dst(P.IPV6_MAX_EXT_HEADERS))), P.OK, `${P.IPV6_MAX_EXT_HEADERS} headers`);
  t.equal(info.l4Offset, 14 + 40 + 8 * P.IPV6_MAX_EXT_HEADERS);
  t.equal(info.protocol, P.IPPROTO_UDP);
  t.equal(parse(v6(dst(P.IPV6_MAX_EXT_HEADERS + 1))), P.IPV6_EXT_CHAIN_TOO_LONG);
  t.equal(parse(v6([{ type: 'dst' }, { type: 'hbh' }])), P.IPV6_HBH_NOT_FIRST);
  t.equal(parse(v6([{ type: 'hbh' }, { type: 'dst' }])), P.OK);
  // Extension length field pointing past the payload.
  const b = v6([{ type: 'dst' }]);
  b[14 + 40 + 1] = 2; // 24 bytes claimed, 8 + 10 available
  t.equal(parse(b), P.TRUNCATED_IPV6_EXT);
  b[14 + 40 + 1] = 1; // 16 bytes fit in 18, leaving 2 for UDP
  t.equal(parse(b), P.TRUNCATED_L4);
  const cut = v6([{ type: 'hbh' }]);
  t.equal(parse(cut, 0, 14 + 40 + 7), P.IP_LENGTH_EXCEEDS_FRAME, 'frame cut inside the ext header');
  const plen = cut.slice();
  plen[14 + 5] = 7; // payload length 7: ext header itself cut
  t.equal(parse(plen), P.TRUNCATED_IPV6_EXT);
});

t.test('no next header, ESP, AH', async (t) => {
  const none = P.buildFrame({ eth: {}, ipv6: { src: '::1', dst: '::2' } });
  t.equal(parse(none), P.OK);
  t.equal(info.protocol, P.IPPROTO_NONE);
  t.equal(info.l4Offset, info.ipEnd);
  const esp = P.buildFrame({ eth: {}, ipv6: { src: '::1', dst: '::2', nh: P.IPPROTO_ESP, ext: [{ type: 'hbh' }] }, payload: '00'.repeat(24) });
  t.equal(parse(esp), P.OK);
  t.equal(info.protocol, P.IPPROTO_ESP, 'ESP ends the walk');
  t.equal(info.l4Offset, 14 + 48);
  const ah = v6([{ type: 'ah', spi: 1, icv: '00'.repeat(12) }]);
  t.equal(parse(ah), P.OK);
  t.equal(info.l4Offset, 14 + 40 + 24, 'AH length in 4-octet units');
});

t.test('fragment header', async (t) => {
  t.equal(parse(v6([{ type: 'frag', fragOffset: 0, m: true, id: 0xffffffff }])), P.OK);
  t.equal(info.fragment, P.FRAG_FIRST);
  t.equal(info.ipId, 0xffffffff);
  t.equal(info.srcPort, 1);
  t.equal(parse(v6([{ type: 'frag', fragOffset: 1280, m: false }, { type: 'dst' }])), P.OK);
  t.equal(info.fragment, P.FRAG_LATER);
  t.equal(info.protocol, P.IPPROTO_DSTOPTS, 'later fragment: next header is data, not walked');
  t.equal(info.l4Offset, 14 + 48);
  t.equal(info.srcPort, 0);
  t.equal(parse(v6([{ type: 'frag', fragOffset: 0, m: false }])), P.OK, 'atomic fragment');
  t.equal(info.fragment, P.FRAG_NONE);
  t.equal(parse(v6([{ type: 'frag', fragOffset: 65528 }])), P.BAD_FRAGMENT);
});

t.test('payload length', async (t) => {
  const b = v6([]);
  b[14 + 5] += 1;
  t.equal(parse(b), P.IP_LENGTH_EXCEEDS_FRAME);
  t.equal(parse(b, P.PARSE_GSO), P.OK);
  t.equal(info.lengthFromFrame, 1);
  const z = v6([]);
  z[14 + 4] = 0;
  z[14 + 5] = 0;
  t.equal(parse(z), P.TRUNCATED_L4, 'payload length 0: next header UDP but no bytes of it');
  t.equal(parse(z, P.PARSE_GSO), P.OK, 'GSO: payload length 0 means the frame');
  t.equal(info.ipEnd, z.length);
  t.equal(info.srcPort, 1);
  t.equal(parse(b, 0, 14 + 39), P.TRUNCATED_IPV6);
  const v4in6 = v6([]);
  v4in6[14] = 0x45;
  t.equal(parse(v4in6), P.BAD_IP_VERSION);
});

t.test('address helpers', async (t) => {
  const a = P.ip6FromString('2001:db8::1');
  const buf = new Uint8Array(40);
  P.ip6Copy(buf, 7, a, 0);
  t.ok(P.ip6Equal(buf, 7, a, 0));
  buf[22] ^= 1;
  t.notOk(P.ip6Equal(buf, 7, a, 0));
  t.equal(P.ip6Word(a, 0, 0), 0x20010db8);
  t.equal(P.ip6Word(a, 0, 3), 1);
  t.ok(P.ip6IsUnspecified(new Uint8Array(16), 0));
  t.notOk(P.ip6IsUnspecified(a, 0));
});
