import t from 'tap';
import * as P from '../../src/packet/index.js';
import { bytes, diffFields, frames } from '../fixtures/packet/fixtures.js';

const info = new P.FrameInfo();

t.test('golden ARP request and reply', async (t) => {
  for (const c of frames().filter((x) => x.tags.includes('arp'))) {
    const b = bytes(c.hex);
    t.equal(P.parseFrame(b, 0, b.length, info), P.OK, c.name);
    t.same(diffFields(info, c.expect!), [], c.description);
    t.equal(P.macToString(b, info.l3Offset + P.ARP_SHA), P.macToString(b, 6), `${c.name}: sender MAC = Ethernet source`);
  }
});

t.test('ARP that is not Ethernet/IPv4, or short', async (t) => {
  const f = bytes(frames().find((x) => x.name === 'arp_request')!.hex);
  t.equal(P.parseFrame(f, 0, 14 + 27, info), P.TRUNCATED_ARP);
  t.equal(P.parseFrame(f, 0, 14 + 28, info), P.OK, 'unpadded 28 bytes is enough');
  for (const [off, val, what] of [
    [15, 6, 'htype IEEE 802'],
    [16, 0x86, 'ptype IPv6'],
    [18, 8, 'hlen 8'],
    [19, 16, 'plen 16'],
  ] as const) {
    const b = f.slice();
    b[off] = val;
    t.equal(P.parseFrame(b, 0, b.length, info), P.UNSUPPORTED_ARP, what);
  }
});

t.test('writeArp produces the scapy-built ARP reply', async (t) => {
  const c = frames().find((x) => x.name === 'arp_reply')!;
  const want = bytes(c.hex);
  const b = new Uint8Array(60);
  P.writeEthernetHeader(b, 0, P.macFromString('02:00:00:00:00:01'), 0, P.macFromString('02:00:00:00:00:0a'), 0, P.ETH_P_ARP);
  const end = P.writeArp(b, 14, P.ARPOP_REPLY, P.macFromString('02:00:00:00:00:0a'), 0, P.ip4FromString('192.0.2.10'),
    P.macFromString('02:00:00:00:00:01'), 0, P.ip4FromString('192.0.2.1'));
  t.equal(end, 14 + P.ARP_LEN);
  t.equal(P.bytesToHex(b), P.bytesToHex(want));
});
