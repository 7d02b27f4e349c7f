// parseFrame / parseIp against the scapy-generated golden frames, plus FrameInfo hygiene.
import t from 'tap';
import * as P from '../../src/packet/index.js';
import { bytes, diffFields, flagsOf, frames, parse, reasonCode } from '../fixtures/packet/fixtures.js';

t.test('every golden frame parses to its expected reason and fields', async (t) => {
  const cases = frames();
  t.ok(cases.length >= 30, `${cases.length} frame fixtures`);
  const info = new P.FrameInfo();
  for (const c of cases) {
    const b = bytes(c.hex);
    const r = parse(b, info, c.ether, flagsOf(c.flags));
    t.equal(P.reasonName(r), c.reason, `${c.name}: reason`);
    t.equal(r, reasonCode(c.reason), `${c.name}: reason code`);
    if (c.expect && r === P.OK) t.same(diffFields(info, c.expect), [], `${c.name}: ${c.description}`);
  }
});

t.test('frames parse the same at a non-zero offset inside a larger buffer', async (t) => {
  const info = new P.FrameInfo();
  for (const c of frames()) {
    if (!c.expect || c.reason !== 'OK') continue;
    const f = bytes(c.hex);
    const ring = new Uint8Array(f.length + 300).fill(0xee);
    ring.set(f, 100);
    const r = parse(ring, info, c.ether, flagsOf(c.flags), 100, f.length);
    t.equal(r, P.OK, `${c.name} at offset 100`);
    const shifted: Record<string, number> = {};
    for (const [k, v] of Object.entries(c.expect)) {
      // Offsets are absolute; -1 (absent) stays -1.
      shifted[k] = (/Offset$|^ipEnd$/.test(k) && k !== 'fragOffset' && v >= 0) ? v + 100 : v;
    }
    t.same(diffFields(info, shifted), [], `${c.name} fields at offset 100`);
  }
});

t.test('transport fields never leak from the previous frame', async (t) => {
  const info = new P.FrameInfo();
  const byName = new Map(frames().map((c) => [c.name, c]));
  const seq = ['ipv4_tcp_syn', 'ipv4_frag_later', 'icmp_frag_needed_tcp', 'ipv6_frag_later', 'icmp_echo', 'ipv4_ipip'];
  for (const name of seq) {
    const c = byName.get(name)!;
    t.equal(parse(bytes(c.hex), info, c.ether, 0), P.OK, name);
    t.same(diffFields(info, c.expect!), [], `${name} after another frame`);
  }
  // An ARP after IP: ipVersion is reset, so IP fields are known stale.
  const arp = byName.get('arp_request')!;
  t.equal(parse(bytes(arp.hex), info, true, 0), P.OK);
  t.equal(info.ipVersion, 0, 'ipVersion reset for ARP');
});

t.test('bad arguments give BAD_BOUNDS, not exceptions', async (t) => {
  const info = new P.FrameInfo();
  const b = new Uint8Array(64);
  t.equal(P.parseFrame(b, -1, 10, info), P.BAD_BOUNDS);
  t.equal(P.parseFrame(b, 0, 65, info), P.BAD_BOUNDS);
  t.equal(P.parseFrame(b, 60, 10, info), P.BAD_BOUNDS);
  t.equal(P.parseFrame(b, NaN, 10, info), P.BAD_BOUNDS);
  t.equal(P.parseFrame(b, 0.5, 10, info), P.BAD_BOUNDS);
  t.equal(P.parseIp(b, 0, 100, info), P.BAD_BOUNDS);
  t.equal(P.parseFrame(b, 0, 0, info), P.TRUNCATED_ETHERNET);
  t.equal(P.parseIp(b, 0, 0, info), P.TRUNCATED_IPV4);
});

t.test('GSO flag: total length larger than the frame is clamped, not an error', async (t) => {
  const c = frames().find((x) => x.name === 'ipv4_total_length_too_big')!;
  const b = bytes(c.hex);
  const info = new P.FrameInfo();
  t.equal(P.parseFrame(b, 0, b.length, info), P.IP_LENGTH_EXCEEDS_FRAME);
  t.equal(P.parseFrame(b, 0, b.length, info, P.PARSE_GSO), P.OK);
  t.equal(info.ipEnd, b.length);
  t.equal(info.lengthFromFrame, 1);
});

t.test('a 64 KiB super-frame parses', async (t) => {
  const f = P.buildFrame({
    eth: {},
    ipv4: { src: '192.0.2.1', dst: '192.0.2.2' },
    tcp: { sport: 1, dport: 2, flags: 0x10 },
    payload: '00'.repeat(65535 - 40),
  });
  t.equal(f.length, 14 + 65535);
  const info = new P.FrameInfo();
  t.equal(P.parseFrame(f, 0, f.length, info, P.PARSE_VERIFY_IPV4_CSUM | P.PARSE_VERIFY_L4_CSUM), P.OK);
  t.equal(info.ipEnd, f.length);
  t.equal(info.lengthFromFrame, 0);
  const f6 = P.buildFrame({
    eth: {},
    ipv6: { src: '2001:db8::1', dst: '2001:db8::2' },
    udp: { sport: 1, dport: 2 },
    payload: '00'.repeat(65535 - 8),
  });
  t.equal(P.parseFrame(f6, 0, f6.length, info, P.PARSE_VERIFY_L4_CSUM), P.OK);
  t.equal(info.ipEnd, f6.length);
});

t.test('PARSE_CSUM_PARTIAL sets csumPartial and skips L4 verification', async (t) => {
  const c = frames().find((x) => x.name === 'bad_tcp_checksum')!;
  const b = bytes(c.hex);
  const info = new P.FrameInfo();
  t.equal(P.parseFrame(b, 0, b.length, info, P.PARSE_VERIFY_L4_CSUM | P.PARSE_CSUM_PARTIAL), P.OK);
  t.equal(info.csumPartial, 1);
  t.equal(P.parseFrame(b, 0, b.length, info), P.OK);
  t.equal(info.csumPartial, 0);
});

t.test('reason table is complete and stable', async (t) => {
  t.equal(P.REASON_NAMES.length, P.REASON_COUNT);
  t.equal(new Set(P.REASON_NAMES).size, P.REASON_COUNT, 'names unique');
  const mod = P as unknown as Record<string, unknown>;
  P.REASON_NAMES.forEach((name, i) => t.equal(mod[name], i, `${name} = ${i}`));
  t.equal(P.reasonName(9999), 'UNKNOWN_9999');
});
