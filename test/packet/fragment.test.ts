// Ipv4Fragmenter (src/packet/fragment.ts): fragments equal scapy's fragment() byte for
// byte, properties over every MTU, and malformed inputs answered with reasons.
import t from 'tap';
import * as P from '../../src/packet/index.js';
import { bytes, flagsOf, hexDiff } from '../fixtures/packet/fixtures.js';
import { drain, fragmentCases, hex } from '../fixtures/packet/segmentation.js';

t.test('golden: fragments equal scapy fragment(), byte for byte', async (t) => {
  const cases = fragmentCases();
  t.ok(cases.length >= 10, 'fixtures loaded');
  const fr = new P.Ipv4Fragmenter();
  for (const c of cases) {
    const src = bytes(c.in);
    const info = new P.FrameInfo();
    t.equal(P.parseFrame(src, 0, src.length, info, flagsOf(c.flags)), P.OK, `${c.name}: parses`);
    const before = hex(src);
    t.equal(P.reasonName(fr.begin(src, info, c.mtu)), 'OK', `${c.name}: begin`);
    t.equal(fr.count, c.out.length, `${c.name}: count`);
    const { frames, reason } = drain(fr);
    t.equal(reason, P.OK);
    t.equal(frames.length, c.out.length, `${c.name}: ${c.out.length} fragments`);
    frames.forEach((f, i) => {
      const got = hex(f);
      t.equal(got, c.out[i], `${c.name} fragment ${i}: ${hexDiff(got, c.out[i]!)}`);
    });
    t.equal(hex(src), before, `${c.name}: source untouched`);
  }
});

t.test('golden: same array for source and destination', async (t) => {
  const fr = new P.Ipv4Fragmenter();
  for (const c of fragmentCases()) {
    const input = bytes(c.in);
    const ring = new Uint8Array(input.length + 2049);
    ring.set(input);
    const info = new P.FrameInfo();
    t.equal(P.parseFrame(ring, 0, input.length, info, flagsOf(c.flags)), P.OK);
    t.equal(fr.begin(ring, info, c.mtu), P.OK);
    for (let i = 0; i < c.out.length; i++) {
      const n = fr.next(ring, input.length + 1, 2048);
      t.equal(hex(ring.subarray(input.length + 1, input.length + 1 + n)), c.out[i], `${c.name} ${i} (same array)`);
    }
    t.equal(fr.next(ring, input.length + 1, 2048), 0);
  }
});

t.test('every MTU from 68 up: fragments fit, offsets are 8-aligned, data reassembles', async (t) => {
  const fr = new P.Ipv4Fragmenter();
  const info = new P.FrameInfo();
  const out = new P.FrameInfo();
  const descs: P.FrameDesc[] = [
    { eth: {}, ipv4: { src: '10.0.0.1', dst: '10.0.0.2', id: 9 }, udp: { sport: 1, dport: 2 }, payload: 'ab'.repeat(1777) },
    // 60-byte header (40 bytes of options: router alert (copied), record route (not copied), end).
    {
      eth: { vlans: [{ vid: 3 }] },
      ipv4: { src: '10.0.0.1', dst: '10.0.0.2', id: 10, options: '94040000' + '0723' + '04' + '00'.repeat(32) + '00' },
      tcp: { sport: 1, dport: 2, flags: 0x18 },
      payload: 'cd'.repeat(901),
    },
  ];
  for (const d of descs) {
    const src = P.buildFrame(d);
    t.equal(P.parseFrame(src, 0, src.length, info), P.OK);
    const hl = info.ipHeaderLen;
    const data = hex(src.subarray(info.l4Offset, info.ipEnd));
    const l3 = info.l3Offset;
    let bad = 0;
    for (let mtu = 68; mtu <= info.ipEnd - l3 + 1; mtu++) {
      t.equal(fr.begin(src, info, mtu), P.OK);
      const { frames } = drain(fr, 4096);
      if (frames.length !== fr.count) bad++;
      let joined = '';
      frames.forEach((f, i) => {
        const last = i === frames.length - 1;
        // A first fragment may be too short for the transport header: the IP fields are
        // still filled (and the header checksum verified) before the transport parse.
        const r = P.parseFrame(f, 0, f.length, out, P.PARSE_VERIFY_IPV4_CSUM);
        if (r !== P.OK && !(out.ipVersion === 4 && (r === P.TRUNCATED_L4 || r === P.BAD_TCP_DATA_OFFSET || r === P.BAD_UDP_LENGTH))) bad++;
        if (out.ipEnd - out.l3Offset > mtu || out.ipHeaderLen !== hl || out.ipId !== info.ipId) bad++;
        if (out.fragOffset !== joined.length / 2) bad++;
        if (!last && (out.ipEnd - out.l4Offset) % 8 !== 0) bad++;
        if (out.moreFragments !== (last ? 0 : 1) && frames.length > 1) bad++;
        if (i > 0 && hl > 20 && hex(f.subarray(out.l3Offset + 20, out.l3Offset + 24)) !== '94040000') bad++; // copied option kept
        if (i > 0 && hl > 20 && f[out.l3Offset + 24] !== 1) bad++; // record route NOPed
        joined += hex(f.subarray(out.l4Offset, out.ipEnd));
      });
      if (joined !== data) bad++;
    }
    t.equal(bad, 0, `header ${hl}: all MTUs correct`);
  }
});

t.test('reasons: DF, small MTU, IPv6, GSO, capacity, bounds', async (t) => {
  const fr = new P.Ipv4Fragmenter();
  const info = new P.FrameInfo();
  const df = P.buildFrame({ eth: {}, ipv4: { src: '10.0.0.1', dst: '10.0.0.2', df: true }, udp: { sport: 1, dport: 2 }, payload: '00'.repeat(1600) });
  P.parseFrame(df, 0, df.length, info);
  t.equal(P.reasonName(fr.begin(df, info, 1500)), 'FRAGMENTATION_NEEDED', 'DF and too big');
  t.equal(fr.next(new Uint8Array(2000), 0, 2000), 0, 'nothing after a refusal');
  t.equal(P.reasonName(fr.begin(df, info, 1628)), 'OK', 'DF but fits: one copy');
  t.equal(drain(fr).frames.length, 1);
  for (const mtu of [67, 0, -1, 100.5, NaN]) t.equal(P.reasonName(fr.begin(df, info, mtu)), 'MTU_TOO_SMALL', `mtu ${mtu}`);

  const v6 = P.buildFrame({ eth: {}, ipv6: { src: '::1', dst: '::2' }, udp: { sport: 1, dport: 2 }, payload: '00'.repeat(1600) });
  P.parseFrame(v6, 0, v6.length, info);
  t.equal(P.reasonName(fr.begin(v6, info, 1280)), 'UNSUPPORTED_PROTOCOL', 'IPv6');

  const gso = P.buildFrame({ eth: {}, ipv4: { src: '10.0.0.1', dst: '10.0.0.2', totalLength: 0 }, tcp: { sport: 1, dport: 2 }, payload: '00'.repeat(3000) });
  t.equal(P.parseFrame(gso, 0, gso.length, info, P.PARSE_GSO), P.OK);
  t.equal(P.reasonName(fr.begin(gso, info, 1500)), 'NOT_APPLICABLE', 'GSO super-frame (length from frame)');

  const ok = P.buildFrame({ eth: {}, ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport: 1, dport: 2 }, payload: '00'.repeat(2000) });
  P.parseFrame(ok, 0, ok.length, info);
  t.equal(P.reasonName(fr.begin(ok.subarray(0, 500), info, 1500)), 'BAD_BOUNDS', 'info past the array');
  t.equal(fr.begin(ok, info, 1500), P.OK);
  const dst = new Uint8Array(3000);
  t.equal(P.reasonName(-fr.next(dst, 0, 1513)), 'NO_ROOM', 'slot one byte short');
  t.equal(fr.emitted, 0);
  t.equal(P.reasonName(-fr.next(dst, 2000, 1514)), 'BAD_BOUNDS', 'slot past the array');
  t.equal(fr.next(dst, 0, 1514), 1514, 'resumes');
  t.equal(fr.next(dst, 0, 1514), 14 + 20 + 2008 - 1480);
  t.equal(fr.next(dst, 0, 1514), 0);
  t.equal(fr.begin(ok, info, 1500), P.OK);
  fr.reset();
  t.equal(fr.next(dst, 0, 1514), 0, 'reset');
});

t.test('partial checksum completed even when the field lands in a later fragment', async (t) => {
  // 60-byte IP header at MTU 68: 8 data bytes per fragment, so the TCP checksum (offset
  // 16) is in the third fragment.
  const full = P.buildFrame({
    eth: {},
    ipv4: { src: '10.0.0.1', dst: '10.0.0.2', id: 1, options: '01'.repeat(40) },
    tcp: { sport: 1, dport: 2, flags: 0x18 },
    payload: '5a'.repeat(41),
  });
  const info = new P.FrameInfo();
  P.parseFrame(full, 0, full.length, info);
  const partial = full.slice();
  const l4Len = info.ipEnd - info.l4Offset;
  P.wr16(partial, info.l4CsumOffset, P.fold(P.pseudoSumV4(info.src4, info.dst4, 6, l4Len)));
  const pi = new P.FrameInfo();
  P.parseFrame(partial, 0, partial.length, pi, P.PARSE_CSUM_PARTIAL);
  const fr = new P.Ipv4Fragmenter();
  t.equal(fr.begin(partial, pi, 68), P.OK);
  const a = drain(fr).frames;
  t.equal(fr.begin(full, info, 68), P.OK);
  const b = drain(fr).frames;
  t.equal(a.length, Math.ceil(l4Len / 8));
  t.same(a.map(hex), b.map(hex), 'same fragments as from the full-checksum packet');
  t.equal(fr.begin(partial, pi, 1500), P.OK);
  t.equal(hex(drain(fr).frames[0]!), hex(full), 'fits: one copy, checksum completed too');
});
