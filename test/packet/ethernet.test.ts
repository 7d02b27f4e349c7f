import t from 'tap';
import * as P from '../../src/packet/index.js';
import { bytes, diffFields, frames } from '../fixtures/packet/fixtures.js';

const info = new P.FrameInfo();
const parse = (b: Uint8Array, len = b.length): number => P.parseFrame(b, 0, len, info);

t.test('golden Ethernet / 802.1Q / QinQ frames', async (t) => {
  for (const c of frames().filter((x) => x.tags.includes('ethernet') || x.tags.includes('vlan'))) {
    const b = bytes(c.hex);
    t.equal(P.reasonName(parse(b)), c.reason, c.name);
    if (c.expect) t.same(diffFields(info, c.expect), [], c.description);
  }
  const q = bytes(frames().find((x) => x.name === 'qinq_ipv6_tcp')!.hex);
  parse(q);
  t.equal(info.vlanCount, 2);
  t.equal(info.vlan0Tpid, P.ETH_P_8021AD);
  t.equal(P.vlanId(info.vlan0Tci), 10);
  t.equal(info.vlan0Tci >>> 13, 3, 'outer PCP');
  t.equal(info.vlan1Tpid, P.ETH_P_8021Q);
  t.equal(P.vlanId(info.vlan1Tci), 20);
  t.equal((info.vlan1Tci >>> 12) & 1, 1, 'inner DEI');
});

t.test('truncation and tag limits', async (t) => {
  const f = P.buildFrame({ eth: { vlans: [{ vid: 1 }, { vid: 2 }] }, ipv4: { src: '1.1.1.1', dst: '2.2.2.2' } });
  t.equal(parse(f, 13), P.TRUNCATED_ETHERNET);
  t.equal(parse(f, 14), P.TRUNCATED_VLAN, 'first tag announced, cut');
  t.equal(parse(f, 17), P.TRUNCATED_VLAN);
  t.equal(parse(f, 21), P.TRUNCATED_VLAN, 'second tag cut');
  t.equal(parse(f, 22), P.TRUNCATED_IPV4, 'tags complete, IP missing');
  const three = P.buildFrame({ eth: { vlans: [{ tpid: 0x88a8, vid: 1 }, { vid: 2 }, { vid: 3 }] }, ipv4: { src: '1.1.1.1', dst: '2.2.2.2' } });
  t.equal(parse(three), P.TOO_MANY_VLAN_TAGS);
  const old = P.buildFrame({ eth: { vlans: [{ tpid: 0x9100, vid: 7 }, { vid: 8 }] }, ipv4: { src: '1.1.1.1', dst: '2.2.2.2' } });
  t.equal(parse(old), P.OK, '0x9100 outer tag');
  t.equal(info.vlan0Tpid, 0x9100);
  const dot3 = P.buildFrame({ eth: { type: 0x0040 }, payload: '00'.repeat(64) });
  t.equal(parse(dot3), P.UNSUPPORTED_ETHERTYPE, '802.3 length field');
  t.equal(info.etherType, 0x0040);
  t.equal(info.l3Offset, 14);
});

t.test('MAC helpers', async (t) => {
  const a = P.macFromString('02:11:22:33:44:55');
  const buf = new Uint8Array(20);
  P.copyMac(buf, 3, a, 0);
  t.ok(P.macEqual(buf, 3, a, 0));
  buf[8] ^= 1;
  t.notOk(P.macEqual(buf, 3, a, 0));
  t.notOk(P.isMulticastMac(a, 0));
  t.ok(P.isMulticastMac(P.macFromString('01:00:5e:00:00:01'), 0));
  t.ok(P.isBroadcastMac(P.macFromString('ff:ff:ff:ff:ff:ff'), 0));
  t.notOk(P.isBroadcastMac(P.macFromString('ff:ff:ff:ff:ff:fe'), 0));
  const h = new Uint8Array(16);
  t.equal(P.writeEthernetHeader(h, 1, P.macFromString('aa:bb:cc:dd:ee:ff'), 0, a, 0, P.ETH_P_IPV6), 15);
  t.equal(P.bytesToHex(h, 1, 15), 'aabbccddeeff02112233445586dd');
});
