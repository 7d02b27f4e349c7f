// TcpSegmenter (src/packet/gso.ts): super-frames cut into segments byte-for-byte equal to
// scapy's construction of the same segments, properties over random MSS and random
// mutations, and every malformed input answered with a reason, never an exception.
import t from 'tap';
import * as P from '../../src/packet/index.js';
import { bytes, hexDiff } from '../fixtures/packet/fixtures.js';
import { drain, gsoCases, hex, vnetOf } from '../fixtures/packet/segmentation.js';

const VERIFY = P.PARSE_VERIFY_IPV4_CSUM | P.PARSE_VERIFY_L4_CSUM;

function parseIn(b: Uint8Array, info: P.FrameInfo, h: P.VnetHdr): number {
  return P.parseFrame(b, 0, b.length, info, P.vnetParseFlags(h));
}

t.test('golden: segments equal scapy, byte for byte', async (t) => {
  const cases = gsoCases();
  t.ok(cases.length >= 9, 'fixtures loaded');
  const seg = new P.TcpSegmenter();
  for (const c of cases) {
    const src = bytes(c.in);
    const info = new P.FrameInfo();
    const h = vnetOf(c);
    t.equal(parseIn(src, info, h), P.OK, `${c.name}: parses`);
    const resegment = c.vnet.gsoType !== 0 && c.mss !== c.vnet.gsoSize;
    const r = resegment ? seg.begin(src, info, c.mss) : seg.beginVnet(src, info, h);
    t.equal(P.reasonName(r), 'OK', `${c.name}: begin`);
    t.equal(seg.count, c.segments.length, `${c.name}: count`);
    const before = hex(src);
    const { frames, reason } = drain(seg);
    t.equal(P.reasonName(reason), 'OK', `${c.name}: drained`);
    t.equal(frames.length, c.segments.length, `${c.name}: ${c.segments.length} segments`);
    frames.forEach((f, i) => {
      const got = hex(f);
      t.equal(got, c.segments[i], `${c.name} segment ${i}: ${hexDiff(got, c.segments[i]!)}`);
    });
    t.equal(hex(src), before, `${c.name}: source untouched`);
    t.equal(seg.next(new Uint8Array(2048), 0, 2048), 0, `${c.name}: 0 after the last`);
  }
});

t.test('golden: same array for source and destination (one RX+TX mapping)', async (t) => {
  const seg = new P.TcpSegmenter();
  for (const c of gsoCases()) {
    const input = bytes(c.in);
    const ring = new Uint8Array(input.length + 2048 + 1);
    ring.set(input, 0);
    const info = new P.FrameInfo();
    const h = vnetOf(c);
    t.equal(P.parseFrame(ring, 0, input.length, info, P.vnetParseFlags(h)), P.OK);
    const resegment = c.vnet.gsoType !== 0 && c.mss !== c.vnet.gsoSize;
    t.equal(resegment ? seg.begin(ring, info, c.mss) : seg.beginVnet(ring, info, h), P.OK);
    const tx = input.length + 1; // odd offset on purpose
    for (let i = 0; i < c.segments.length; i++) {
      const n = seg.next(ring, tx, 2048);
      t.ok(n > 0, `${c.name} ${i}: written`);
      t.equal(hex(ring.subarray(tx, tx + n)), c.segments[i], `${c.name} segment ${i} (same array)`);
    }
    t.equal(seg.next(ring, tx, 2048), 0);
  }
});

t.test('segments parse, verify and carry the payload in order', async (t) => {
  const c = gsoCases().find((x) => x.name === 'tcp4_3mss_plus_17')!;
  const src = bytes(c.in);
  const info = new P.FrameInfo();
  const h = vnetOf(c);
  parseIn(src, info, h);
  const payload = hex(src.subarray(info.payloadOffset, info.ipEnd));
  const seq0 = P.tcpSeq(src, info);
  const seg = new P.TcpSegmenter();
  const out = new P.FrameInfo();
  for (const mss of [1, 7, 8, 100, 535, 536, 1000, 1447, 1448, 1449, 4000, 4361, 4362, 65000]) {
    t.equal(seg.begin(src, info, mss), P.OK);
    const { frames, reason } = drain(seg, 9000);
    t.equal(reason, P.OK);
    t.equal(frames.length, Math.ceil(4361 / mss), `mss ${mss}: segment count`);
    let joined = '';
    let bad = 0;
    frames.forEach((f, i) => {
      if (P.parseFrame(f, 0, f.length, out, VERIFY) !== P.OK) bad++;
      const want = ((seq0 + joined.length / 2) >>> 0);
      if (P.tcpSeq(f, out) !== want) bad++;
      if (out.ipId !== ((info.ipId + i) & 0xffff)) bad++;
      const last = i === frames.length - 1;
      const fl = out.tcpFlags;
      if (((fl & P.TCP_FIN) !== 0) !== last || ((fl & P.TCP_PSH) !== 0) !== last) bad++;
      if (((fl & P.TCP_CWR) !== 0) !== (i === 0)) bad++;
      if ((fl & (P.TCP_ECE | P.TCP_ACKF)) !== (P.TCP_ECE | P.TCP_ACKF)) bad++;
      joined += hex(f.subarray(out.payloadOffset, out.ipEnd));
    });
    t.equal(bad, 0, `mss ${mss}: every segment verifies, seq/id/flags right`);
    t.equal(joined, payload, `mss ${mss}: payload reassembles`);
  }
});

t.test('a pure ACK (no payload) and a non-GSO full-checksum frame give one identical frame', async (t) => {
  const seg = new P.TcpSegmenter();
  const info = new P.FrameInfo();
  const ack = P.buildFrame({ eth: {}, ipv4: { src: '10.0.0.1', dst: '10.0.0.2', id: 5 }, tcp: { sport: 1, dport: 2, flags: 0x10 } });
  t.equal(P.parseFrame(ack, 0, ack.length, info, P.PARSE_GSO), P.OK);
  t.equal(seg.begin(ack, info, 1448), P.OK);
  t.equal(seg.count, 1);
  const a = drain(seg);
  t.equal(a.frames.length, 1);
  t.equal(hex(a.frames[0]!), hex(ack));
  const data = P.buildFrame({
    eth: {},
    ipv6: { src: '2001:db8::1', dst: '2001:db8::2' },
    tcp: { sport: 1, dport: 2, flags: 0x18, seq: 0xffffffff },
    payload: '11'.repeat(999),
  });
  t.equal(P.parseFrame(data, 0, data.length, info), P.OK);
  t.equal(seg.begin(data, info, 1000), P.OK);
  t.equal(hex(drain(seg).frames[0]!), hex(data), 'unchanged');
  // Ethernet padding is not copied.
  const padded = P.buildFrame({ eth: {}, ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, tcp: { sport: 1, dport: 2 }, padTo: 80 });
  t.equal(P.parseFrame(padded, 0, padded.length, info), P.OK);
  t.equal(seg.begin(padded, info, 1448), P.OK);
  t.equal(drain(seg).frames[0]!.length, 54, 'padding dropped');
  t.equal(seg.beginCopy(padded, info, -1, 0), P.OK);
  t.equal(drain(seg).frames[0]!.length, 54, 'padding dropped (copy)');
});

t.test('bare IP frames (parseIp) segment too', async (t) => {
  const c = gsoCases().find((x) => x.name === 'tcp6_3mss_plus_5')!;
  const frame = bytes(c.in);
  const ip = frame.slice(14);
  const info = new P.FrameInfo();
  t.equal(P.parseIp(ip, 0, ip.length, info, P.PARSE_GSO | P.PARSE_CSUM_PARTIAL), P.OK);
  const seg = new P.TcpSegmenter();
  t.equal(seg.begin(ip, info, c.vnet.gsoSize), P.OK);
  const { frames } = drain(seg);
  t.same(frames.map(hex), c.segments.map((s) => s.slice(28)), 'segments without the Ethernet header');
});

t.test('malformed inputs return reasons, never throw', async (t) => {
  const seg = new P.TcpSegmenter();
  const info = new P.FrameInfo();
  const c = gsoCases()[0]!;
  const src = bytes(c.in);
  const h = vnetOf(c);
  t.equal(parseIn(src, info, h), P.OK);

  t.equal(seg.next(new Uint8Array(100), 0, 100), 0, 'next before begin: nothing');
  const h0 = vnetOf(c);
  h0.gsoSize = 0;
  t.equal(P.reasonName(seg.beginVnet(src, info, h0)), 'BAD_GSO_SIZE', 'gso_size 0');
  t.equal(seg.next(new Uint8Array(2000), 0, 2000), 0, 'failed begin: nothing to write');
  for (const mss of [0, -1, 1.5, NaN, Infinity]) t.equal(P.reasonName(seg.begin(src, info, mss)), 'BAD_GSO_SIZE', `mss ${mss}`);
  const hu = vnetOf(c);
  hu.gsoType = P.VNET_HDR_GSO_UDP_L4;
  t.equal(P.reasonName(seg.beginVnet(src, info, hu)), 'UNSUPPORTED_GSO_TYPE', 'UDP_L4');
  hu.gsoType = P.VNET_HDR_GSO_UDP;
  t.equal(P.reasonName(seg.beginVnet(src, info, hu)), 'UNSUPPORTED_GSO_TYPE', 'UFO');
  hu.gsoType = P.VNET_HDR_GSO_TCPV6;
  t.equal(P.reasonName(seg.beginVnet(src, info, hu)), 'UNSUPPORTED_GSO_TYPE', 'TCPV6 on an IPv4 frame');
  hu.gsoType = 0x42;
  t.equal(P.reasonName(seg.beginVnet(src, info, hu)), 'UNSUPPORTED_GSO_TYPE', 'unknown type');

  // A super-frame larger than any IP length field, one segment of it is too big for IPv4.
  t.equal(P.reasonName(seg.begin(src, info, 65535)), 'OK', 'mss above the payload: one segment');
  const big = new Uint8Array(70_000);
  big.set(src.subarray(0, info.payloadOffset));
  const bi = new P.FrameInfo();
  big[16] = 0; // total length 0: BIG TCP style, the frame gives the length
  big[17] = 0;
  t.equal(P.parseFrame(big, 0, big.length, bi, P.PARSE_GSO), P.OK);
  t.equal(bi.lengthFromFrame, 1);
  t.equal(P.reasonName(seg.begin(big, bi, 65535)), 'BAD_GSO_SIZE', 'segment longer than 65535');
  t.equal(P.reasonName(seg.begin(big, bi, 1448)), 'OK', 'but fine at 1448');
  t.equal(seg.count, Math.ceil((70_000 - info.payloadOffset) / 1448));

  // Not TCP / not applicable.
  const udp = P.buildFrame({ eth: {}, ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport: 1, dport: 2 }, payload: '00'.repeat(3000) });
  const ui = new P.FrameInfo();
  P.parseFrame(udp, 0, udp.length, ui);
  t.equal(P.reasonName(seg.begin(udp, ui, 1000)), 'UNSUPPORTED_PROTOCOL', 'UDP');
  const hv = vnetOf(c);
  t.equal(P.reasonName(seg.beginVnet(udp, ui, hv)), 'UNSUPPORTED_GSO_TYPE', 'TCPV4 gso on UDP');
  const arp = P.buildFrame({ eth: {}, arp: { spa: '10.0.0.1', tpa: '10.0.0.2' } });
  const ai = new P.FrameInfo();
  P.parseFrame(arp, 0, arp.length, ai);
  t.equal(P.reasonName(seg.begin(arp, ai, 1000)), 'UNSUPPORTED_PROTOCOL', 'ARP');
  t.equal(P.reasonName(seg.beginCopy(arp, ai, -1, 0)), 'UNSUPPORTED_PROTOCOL', 'ARP copy');
  const frag = P.buildFrame({ eth: {}, ipv4: { src: '10.0.0.1', dst: '10.0.0.2', mf: true }, tcp: { sport: 1, dport: 2 }, payload: '00'.repeat(64) });
  const fi = new P.FrameInfo();
  P.parseFrame(frag, 0, frag.length, fi);
  t.equal(P.reasonName(seg.begin(frag, fi, 10)), 'NOT_APPLICABLE', 'a fragment');
  const ext6 = P.buildFrame({ eth: {}, ipv6: { src: '::1', dst: '::2', ext: [{ type: 'dst' }] }, tcp: { sport: 1, dport: 2 }, payload: '00'.repeat(100) });
  const e6 = new P.FrameInfo();
  t.equal(P.parseFrame(ext6, 0, ext6.length, e6), P.OK);
  t.equal(P.reasonName(seg.begin(ext6, e6, 10)), 'UNSUPPORTED_PROTOCOL', 'IPv6 with extension headers');

  // Info describing more bytes than the array holds (stale info, caller bug).
  t.equal(P.reasonName(seg.begin(src.subarray(0, 100), info, 1448)), 'BAD_BOUNDS', 'info past the array');
  t.equal(P.reasonName(seg.beginCopy(src.subarray(0, 100), info, -1, 0)), 'BAD_BOUNDS');

  // Copy-mode checksum offsets outside the frame.
  const np = vnetOf(gsoCases().find((x) => x.vnet.gsoType === 0)!);
  const ns = bytes(gsoCases().find((x) => x.vnet.gsoType === 0)!.in);
  const ni = new P.FrameInfo();
  P.parseFrame(ns, 0, ns.length, ni, P.PARSE_CSUM_PARTIAL);
  for (const [cs, co] of [[ns.length, 0], [0, ns.length], [ns.length - 1, 0], [10, -2], [10, 0.5]] as const) {
    np.csumStart = cs;
    np.csumOffset = co;
    t.equal(P.reasonName(seg.beginVnet(ns, ni, np)), 'BAD_CSUM_OFFSETS', `csum ${cs}/${co}`);
  }

  // Capacity: too small leaves the segment pending; a big enough slot then gets it.
  t.equal(seg.beginVnet(src, info, h), P.OK);
  const dst = new Uint8Array(4000);
  t.equal(P.reasonName(-seg.next(dst, 0, 1513)), 'NO_ROOM', 'one byte short');
  t.equal(seg.emitted, 0, 'nothing consumed');
  t.equal(seg.next(dst, 0, 1514), 1514, 'then fits');
  t.equal(P.reasonName(-seg.next(dst, 3000, 1514)), 'BAD_BOUNDS', 'slot past the array end');
  t.equal(P.reasonName(-seg.next(dst, -1, 10)), 'BAD_BOUNDS', 'negative offset');
  t.equal(seg.next(dst, 0, 1514), 1514, 'still resumes');
  seg.reset();
  t.equal(seg.next(dst, 0, 1514), 0, 'reset: idle');
  t.equal(seg.beginCopy(src, info, 34, 16), P.OK);
  t.equal(P.reasonName(-seg.next(dst, 0, 4000)), 'NO_ROOM', 'copy larger than the slot');
});

t.test('fuzz: mutated super-frames never throw; whatever segments come out verify', async (t) => {
  const seg = new P.TcpSegmenter();
  const info = new P.FrameInfo();
  const out = new P.FrameInfo();
  const dst = new Uint8Array(70_000);
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  let segmented = 0;
  let bad = 0;
  for (const c of gsoCases()) {
    const base = bytes(c.in);
    for (let k = 0; k < 150; k++) {
      const b = base.slice(0, base.length - rnd(Math.min(base.length, 200)));
      // Mutate header bytes (lengths, IHL, data offset, flags) only: payload bytes do not matter.
      for (let m = 0; m < 1 + rnd(3); m++) b[rnd(Math.min(b.length, 80))] = rnd(256);
      const h = vnetOf(c);
      if (rnd(4) === 0) h.gsoSize = rnd(3000);
      if (P.parseFrame(b, 0, b.length, info, P.vnetParseFlags(h)) !== P.OK) continue;
      const r = seg.beginVnet(b, info, h);
      if (r !== P.OK) continue;
      for (;;) {
        const n = seg.next(dst, 0, dst.length);
        if (n <= 0) break;
        segmented++;
        if (info.ipVersion === 0 || c.vnet.gsoType === 0) continue; // copies keep whatever they had
        if (P.parseFrame(dst, 0, n, out, P.PARSE_VERIFY_IPV4_CSUM | P.PARSE_VERIFY_L4_CSUM) !== P.OK) bad++;
      }
    }
  }
  t.ok(segmented > 100, `${segmented} frames produced from mutated inputs`);
  t.equal(bad, 0, 'every produced segment parses and verifies');
});
