import t from 'tap';
import * as P from '../../src/packet/index.js';
import { bytes, diffFields, frames } from '../fixtures/packet/fixtures.js';

const info = new P.FrameInfo();
const parse = (b: Uint8Array, flags = 0): number => P.parseFrame(b, 0, b.length, info, flags);

t.test('golden UDP frames', async (t) => {
  for (const c of frames().filter((x) => x.tags.includes('udp') && x.reason === 'OK')) {
    const b = bytes(c.hex);
    t.equal(parse(b), P.OK, c.name);
    t.same(diffFields(info, c.expect!), [], c.description);
  }
});

t.test('UDP length', async (t) => {
  const mk = (len: number): Uint8Array =>
    P.buildFrame({ eth: {}, ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { sport: 1, dport: 2, len }, payload: '00'.repeat(10) });
  t.equal(parse(mk(0)), P.BAD_UDP_LENGTH);
  t.equal(parse(mk(7)), P.BAD_UDP_LENGTH);
  t.equal(parse(mk(8)), P.OK, 'shorter than the IP payload: trailing bytes ignored');
  t.equal(P.udpPayloadLen(mk(8), info), 0);
  t.equal(parse(mk(18)), P.OK);
  t.equal(P.udpPayloadLen(mk(18), info), 10);
  t.equal(parse(mk(19)), P.BAD_UDP_LENGTH, 'one past the IP payload');
  t.equal(parse(mk(0), P.PARSE_GSO), P.OK, 'GSO: length 0 tolerated');
  t.equal(parse(mk(65535), P.PARSE_GSO), P.OK, 'GSO: super-datagram length tolerated');
  const short = mk(18);
  short[14 + 3] = 20 + 7;
  t.equal(parse(short), P.TRUNCATED_L4);
  const z = bytes(frames().find((x) => x.name === 'ipv4_udp_zero_csum')!.hex);
  t.equal(parse(z, P.PARSE_VERIFY_L4_CSUM), P.OK, 'IPv4 checksum 0 = none verifies');
});
