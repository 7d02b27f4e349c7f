import t from 'tap';
import * as P from '../../src/packet/index.js';
import { bytes, frames, hexDiff, rewrites, runRewrite } from '../fixtures/packet/fixtures.js';

const tunnel = (): P.IpipTunnel => {
  const tun = new P.IpipTunnel();
  tun.srcMac.set(P.macFromString('02:00:00:00:01:01'));
  tun.dstMac.set(P.macFromString('02:00:00:00:02:02'));
  tun.src = P.ip4FromString('192.0.2.100');
  tun.dst = P.ip4FromString('10.0.0.5');
  return tun;
};

t.test('encapsulation against scapy', async (t) => {
  const cases = rewrites().filter((c) => c.ops.some((o) => o.op === 'encapIpip'));
  t.ok(cases.length >= 3);
  for (const c of cases) {
    const r = runRewrite(c);
    t.equal(r.hex, c.out, `${c.name}: ${c.description} ${hexDiff(r.hex, c.out)}`);
  }
});

t.test('decapsulation view of the golden IPIP frame', async (t) => {
  const b = bytes(frames().find((x) => x.name === 'ipv4_ipip')!.hex);
  const outer = new P.FrameInfo();
  const inner = new P.FrameInfo();
  t.equal(P.parseFrame(b, 0, b.length, outer), P.OK);
  t.equal(P.ipipInnerOffset(outer), 34);
  t.equal(P.decapIpip(b, outer, inner, P.PARSE_VERIFY_IPV4_CSUM | P.PARSE_VERIFY_L4_CSUM), P.OK);
  t.equal(inner.l3Offset, 34);
  t.equal(P.ip4ToString(inner.src4), '198.51.100.7');
  t.equal(inner.dstPort, 80);
  t.equal(inner.tcpFlags, P.TCP_SYN);
  const plain = new P.FrameInfo();
  const tcp = bytes(frames().find((x) => x.name === 'ipv4_tcp_syn')!.hex);
  P.parseFrame(tcp, 0, tcp.length, plain);
  t.equal(P.ipipInnerOffset(plain), -1);
  t.equal(P.decapIpip(tcp, plain, inner), P.NOT_APPLICABLE);
  // 6in4 claims IPv6 but carries IPv4.
  const lie = b.slice();
  lie[14 + 9] = P.IPPROTO_IPV6;
  P.parseFrame(lie, 0, lie.length, outer);
  t.equal(P.decapIpip(lie, outer, inner), P.BAD_IP_VERSION);
});

t.test('encap then decap round trip; id, TTL, DF, TOS', async (t) => {
  const f = P.buildFrame({ eth: {}, ipv4: { src: '198.51.100.7', dst: '192.0.2.10', ttl: 9, tos: 0x2a, df: true }, udp: { sport: 5, dport: 6 }, payload: 'ab'.repeat(100) });
  const info = new P.FrameInfo();
  P.parseFrame(f, 0, f.length, info);
  const tun = tunnel();
  tun.nextId = 0xffff;
  tun.ttl = 30;
  const dst = new Uint8Array(400);
  const n = P.encapIpip(f, info, dst, 50, 350, tun);
  t.equal(n, f.length + 20);
  t.equal(tun.nextId, 0, 'id wraps');
  const outer = new P.FrameInfo();
  t.equal(P.parseFrame(dst, 50, n, outer, P.PARSE_VERIFY_IPV4_CSUM), P.OK);
  t.equal(outer.ipId, 0xffff);
  t.equal(outer.ttl, 30, 'tunnel TTL');
  t.equal(outer.tos, 0x2a);
  t.equal(outer.dontFragment, 1);
  t.equal(outer.protocol, P.IPPROTO_IPIP);
  const inner = new P.FrameInfo();
  t.equal(P.decapIpip(dst, outer, inner, P.PARSE_VERIFY_IPV4_CSUM | P.PARSE_VERIFY_L4_CSUM), P.OK);
  t.equal(P.bytesToHex(dst, inner.l3Offset, inner.ipEnd), P.bytesToHex(f, 14));
});

t.test('same-array encapsulation (RX and TX slots in one mapping)', async (t) => {
  const ring = new Uint8Array(4096);
  const f = P.buildFrame({ eth: {}, ipv4: { src: '198.51.100.7', dst: '192.0.2.10' }, tcp: { sport: 1, dport: 2 }, payload: '11'.repeat(1000) });
  ring.set(f, 0);
  const info = new P.FrameInfo();
  P.parseFrame(ring, 0, f.length, info);
  const n = P.encapIpip(ring, info, ring, 2048, 2048, tunnel());
  t.equal(n, f.length + 20);
  t.equal(P.bytesToHex(ring, 2048 + 34, 2048 + n), P.bytesToHex(f, 14));
});

t.test('refusals', async (t) => {
  const f = P.buildFrame({ eth: {}, ipv4: { src: '1.1.1.1', dst: '2.2.2.2', df: true }, udp: { sport: 1, dport: 2 }, payload: '00'.repeat(1472) });
  const info = new P.FrameInfo();
  P.parseFrame(f, 0, f.length, info);
  const dst = new Uint8Array(2048);
  const tun = tunnel();
  tun.mtu = 1500;
  t.equal(P.encapIpip(f, info, dst, 0, dst.length, tun), -P.ENCAP_EXCEEDS_MTU, '1500 + 20 > 1500');
  tun.mtu = 1520;
  t.equal(P.encapIpip(f, info, dst, 0, dst.length, tun), 14 + 1520);
  t.equal(P.encapIpip(f, info, dst, 0, 14 + 1519, tun), -P.ENCAP_NO_ROOM);
  t.equal(P.encapIpip(f, info, dst, 1000, 2000, tun), -P.BAD_BOUNDS);
  const v6 = P.buildFrame({ eth: {}, ipv6: { src: '::1', dst: '::2' }, udp: { sport: 1, dport: 2 } });
  P.parseFrame(v6, 0, v6.length, info);
  t.equal(P.encapIpip(v6, info, dst, 0, dst.length, tun), -P.UNSUPPORTED_PROTOCOL);
  const nothing = dst.slice();
  t.equal(P.bytesToHex(dst), P.bytesToHex(nothing));
});
