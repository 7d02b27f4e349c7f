// Rewrites against scapy: each golden case is input frame + ops -> exact output frame,
// where scapy built the output from the rewritten description with fresh checksums.
import t from 'tap';
import * as P from '../../src/packet/index.js';
import { bytes, frames, hexDiff, rewrites, runRewrite } from '../fixtures/packet/fixtures.js';

t.test('golden rewrites match scapy byte for byte', async (t) => {
  const cases = rewrites();
  t.ok(cases.length >= 30, `${cases.length} rewrite fixtures`);
  for (const c of cases) {
    const r = runRewrite(c);
    t.equal(r.parseReason, P.OK, `${c.name}: parses`);
    const want = c.ops.map((o) => (o.expectReason as string | undefined) ?? 'OK');
    t.same(r.reasons, want, `${c.name}: op reasons`);
    t.equal(r.hex, c.out, `${c.name}: ${c.description} ${hexDiff(r.hex, c.out)}`);
  }
});

t.test('rewritten frames still verify and re-parse consistently', async (t) => {
  const info = new P.FrameInfo();
  for (const c of rewrites()) {
    if (c.flags.includes('PARSE_CSUM_PARTIAL') && !c.name.endsWith('then_complete')) continue;
    const out = bytes(c.out);
    const r = c.ether ? P.parseFrame(out, 0, out.length, info, P.PARSE_VERIFY_IPV4_CSUM) : P.OK;
    t.equal(r, P.OK, `${c.name}: output parses with IPv4 checksum verification`);
    t.ok(P.verifyL4(out, info), `${c.name}: output transport checksum verifies`);
  }
});

t.test('rewrite helpers keep FrameInfo in step', async (t) => {
  const c = frames().find((x) => x.name === 'ipv4_tcp_syn')!;
  const b = bytes(c.hex);
  const info = new P.FrameInfo();
  P.parseFrame(b, 0, b.length, info);
  P.setIPv4Src(b, info, 0x0a000001);
  P.setIPv4Dst(b, info, 0xfffffffe);
  P.setSrcPort(b, info, 1);
  P.setDstPort(b, info, 2);
  P.decrementTtl(b, info);
  const snap = { ...info };
  const again = new P.FrameInfo();
  P.parseFrame(b, 0, b.length, again, P.PARSE_VERIFY_IPV4_CSUM | P.PARSE_VERIFY_L4_CSUM);
  t.same({ ...again }, snap);
  t.equal(info.dst4, 0xfffffffe, 'uint32, not negative');
});

t.test('NOT_APPLICABLE and TTL_EXPIRED leave the frame untouched', async (t) => {
  const byName = new Map(frames().map((x) => [x.name, x]));
  const info = new P.FrameInfo();
  const check = (name: string, fn: (b: Uint8Array) => number, want: number): void => {
    const c = byName.get(name)!;
    const b = bytes(c.hex);
    P.parseFrame(b, 0, b.length, info, c.name.startsWith('gso') ? P.PARSE_GSO : 0);
    const before = P.bytesToHex(b);
    t.equal(fn(b), want, `${name}: ${P.reasonName(want)}`);
    t.equal(P.bytesToHex(b), before, `${name}: unchanged`);
  };
  const v6 = P.ip6FromString('fd00::1');
  check('ipv6_tcp', (b) => P.setIPv4Dst(b, info, 1), P.NOT_APPLICABLE);
  check('ipv4_tcp_syn', (b) => P.setIPv6Dst(b, info, v6, 0), P.NOT_APPLICABLE);
  check('ipv4_frag_later', (b) => P.setDstPort(b, info, 1), P.NOT_APPLICABLE);
  check('icmp_echo', (b) => P.setSrcPort(b, info, 1), P.NOT_APPLICABLE);
  check('ipv4_ipip', (b) => P.setSrcPort(b, info, 1), P.NOT_APPLICABLE);
  check('arp_request', (b) => P.setIPv4Src(b, info, 1), P.NOT_APPLICABLE);
  check('arp_request', (b) => P.decrementTtl(b, info), P.NOT_APPLICABLE);
  check('icmp_echo', (b) => P.icmpInnerSetIPv4Dst(b, info, 1), P.NOT_APPLICABLE);
  check('icmp_frag_needed_tcp', (b) => P.icmpInnerSetIPv6Dst(b, info, v6, 0), P.NOT_APPLICABLE);
  check('icmpv6_ptb_tcp', (b) => P.icmpInnerSetIPv4Dst(b, info, 1), P.NOT_APPLICABLE);
  check('ipv4_tcp_syn', (b) => P.icmpInnerSetDstPort(b, info, 1), P.NOT_APPLICABLE);
  const ttl1 = P.buildFrame({ eth: {}, ipv4: { src: '1.1.1.1', dst: '2.2.2.2', ttl: 1 }, udp: { sport: 1, dport: 2 } });
  P.parseFrame(ttl1, 0, ttl1.length, info);
  t.equal(P.decrementTtl(ttl1, info), P.TTL_EXPIRED);
  t.equal(ttl1[22], 1, 'TTL left at 1');
  const hl0 = P.buildFrame({ eth: {}, ipv6: { src: '::1', dst: '::2', hlim: 0 }, udp: { sport: 1, dport: 2 } });
  P.parseFrame(hl0, 0, hl0.length, info);
  t.equal(P.decrementTtl(hl0, info), P.TTL_EXPIRED);
  const bare = bytes(byName.get('ipv4_bare')!.hex);
  P.parseIp(bare, 0, bare.length, info);
  t.equal(P.setEthSrc(bare, info, new Uint8Array(6), 0), P.NOT_APPLICABLE, 'no Ethernet header to rewrite');
});

t.test('UDP checksum that becomes 0 is sent as 0xffff', async (t) => {
  // Search a destination address that makes the updated checksum exactly 0 (RFC 768).
  const base = P.buildFrame({ eth: {}, ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport: 1, dport: 2 }, payload: '0102' });
  const info = new P.FrameInfo();
  let found = 0;
  let zeros = 0;
  for (let a = 0x0a000000; a < 0x0a020000 && found < 3; a++) {
    const b = base.slice();
    P.parseFrame(b, 0, b.length, info);
    P.setIPv4Dst(b, info, a);
    const ck = (b[40]! << 8) | b[41]!;
    if (ck === 0) zeros++;
    if (ck === 0xffff) {
      found++;
      t.ok(P.verifyL4(b, info), `0xffff verifies (dst ${P.ip4ToString(a)})`);
    }
  }
  t.equal(zeros, 0, 'a checksum of 0 is never stored');
  t.ok(found > 0, 'found addresses whose checksum folds to zero');
});

t.test('incremental updates agree with from-scratch checksums on random NAT', async (t) => {
  let seed = 12345;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed;
  };
  const info = new P.FrameInfo();
  for (let i = 0; i < 2000; i++) {
    const v6 = (i & 1) === 1;
    const proto = i % 3;
    const payload = Array.from({ length: rnd() % 40 }, () => (rnd() & 255).toString(16).padStart(2, '0')).join('');
    const l4 = proto === 0 ? { tcp: { sport: rnd() & 0xffff, dport: rnd() & 0xffff } } : { udp: { sport: rnd() & 0xffff, dport: rnd() & 0xffff } };
    const ip = v6 ? { ipv6: { src: '2001:db8::1', dst: '2001:db8::2' } } : { ipv4: { src: '10.0.0.1', dst: '10.0.0.2' } };
    const b = P.buildFrame({ eth: {}, ...ip, ...l4, payload });
    P.parseFrame(b, 0, b.length, info);
    if (v6) {
      const a = new Uint8Array(16).map(() => rnd() & 255);
      P.setIPv6Src(b, info, a, 0);
      P.setIPv6Dst(b, info, a.reverse(), 0);
    } else {
      P.setIPv4Src(b, info, rnd());
      P.setIPv4Dst(b, info, rnd());
      P.decrementTtl(b, info);
    }
    P.setSrcPort(b, info, rnd() & 0xffff);
    P.setDstPort(b, info, rnd() & 0xffff);
    if (v6) P.natIPv6Dst(b, info, new Uint8Array(16).map(() => rnd() & 255), 0, rnd() & 0xffff);
    else P.natIPv4Src(b, info, rnd(), rnd() & 0xffff);
    const fresh = b.slice();
    const finfo = new P.FrameInfo();
    P.parseFrame(fresh, 0, fresh.length, finfo);
    P.fillL4Checksum(fresh, finfo);
    if (!v6) P.fillIPv4HeaderChecksum(fresh, 14, 20);
    if (P.bytesToHex(fresh) !== P.bytesToHex(b)) {
      t.fail(`case ${i}: incremental != from scratch`);
      return;
    }
  }
  t.pass('2000 random NATs match from-scratch checksums');
});
