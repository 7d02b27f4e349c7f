// Checksum primitives: against scapy's checksum() on random buffers, RFC 1624's worked
// example, and incremental-vs-full agreement.
import t from 'tap';
import * as P from '../../src/packet/index.js';
import { bytes, checksums, frames } from '../fixtures/packet/fixtures.js';

t.test('internetChecksum equals scapy checksum()', async (t) => {
  for (const c of checksums()) {
    const b = bytes(c.hex);
    t.equal(P.internetChecksum(b, 0, b.length), c.checksum, `${c.name} (${b.length} bytes)`);
    // Same range inside a bigger buffer at an odd absolute offset.
    const big = new Uint8Array(b.length + 7).fill(0xab);
    big.set(b, 3);
    t.equal(P.internetChecksum(big, 3, 3 + b.length), c.checksum, `${c.name} at offset 3`);
  }
});

t.test('sumWords chains over even-length pieces', async (t) => {
  const b = bytes(checksums().find((c) => c.name === 'random_1501')!.hex);
  const whole = P.fold(P.sumWords(b, 0, b.length, 0));
  const chained = P.fold(P.sumWords(b, 600, b.length, P.sumWords(b, 0, 600, 0)));
  t.equal(chained, whole);
});

t.test('RFC 1624 section 4 example: eqn 3 gives 0x0000, not -0', async (t) => {
  t.equal(P.csumReplace16(0xdd2f, 0x5555, 0x3285), 0x0000);
});

t.test('incremental 16/32/128-bit updates equal recomputation', async (t) => {
  let seed = 99;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed;
  };
  for (let i = 0; i < 3000; i++) {
    const len = 40 + (rnd() % 64) * 2;
    const b = new Uint8Array(len).map(() => rnd() & 255);
    // Field at an even offset; checksum stored at 0..1.
    b[0] = 0;
    b[1] = 0;
    const ck = P.internetChecksum(b, 0, len);
    b[0] = ck >>> 8;
    b[1] = ck & 255;
    const off = 2 + 2 * (rnd() % ((len - 18) / 2));
    const kind = i % 3;
    let nc: number;
    if (kind === 0) {
      const old = (b[off]! << 8) | b[off + 1]!;
      const nv = rnd() & 0xffff;
      b[off] = nv >>> 8;
      b[off + 1] = nv & 255;
      nc = P.csumReplace16(ck, old, nv);
    } else if (kind === 1) {
      const old = P.rd32(b, off);
      const nv = rnd();
      P.wr32(b, off, nv);
      nc = P.csumReplace32(ck, old, nv);
    } else {
      const nb = new Uint8Array(16).map(() => rnd() & 255);
      nc = P.csumReplace128(ck, b, off, nb, 0);
      b.set(nb, off);
    }
    b[0] = 0;
    b[1] = 0;
    const want = P.internetChecksum(b, 0, len);
    if (nc !== want) {
      t.fail(`case ${i} kind ${kind}: ${nc.toString(16)} != ${want.toString(16)}`);
      return;
    }
  }
  t.pass('3000 random field changes');
});

t.test('partial update: P + ~m + m\' tracks the pseudo-header sum', async (t) => {
  const s1 = P.fold(P.pseudoSumV4(0xc0000201, 0x0a000005, 6, 100));
  const s2 = P.fold(P.pseudoSumV4(0xc0000201, 0xc633640a, 6, 100));
  t.equal(P.applyDiffPartial(s1, P.diff32(0x0a000005, 0xc633640a)), s2);
  t.equal(P.updateChecksum(s1, P.diff32(0x0a000005, 0xc633640a), 1), s2);
  t.equal(P.updateChecksum(0x1234, P.diff16(1, 2), 0), P.applyDiff(0x1234, P.diff16(1, 2)));
});

t.test('verify helpers accept every golden frame and reject a flipped byte', async (t) => {
  const info = new P.FrameInfo();
  for (const c of frames()) {
    if (c.reason !== 'OK' || !c.ether || c.flags.includes('PARSE_GSO')) continue;
    const b = bytes(c.hex);
    t.equal(P.parseFrame(b, 0, b.length, info), P.OK, `${c.name} parses`);
    if (info.ipVersion === 0) continue;
    if (info.ipVersion === 4) t.ok(P.verifyIPv4Header(b, info.l3Offset, info.ipHeaderLen), `${c.name}: IPv4 header`);
    t.ok(P.verifyL4(b, info), `${c.name}: transport`);
    const udpNoCsum = info.protocol === P.IPPROTO_UDP && b[info.l4CsumOffset] === 0 && b[info.l4CsumOffset + 1] === 0;
    if (info.l4CsumOffset >= 0 && info.fragment === P.FRAG_NONE && info.payloadOffset < info.ipEnd && !udpNoCsum) {
      b[info.payloadOffset] ^= 0x40;
      t.notOk(P.verifyL4(b, info), `${c.name}: corrupted payload detected`);
    }
  }
  const tcp = bytes(frames().find((c) => c.name === 'ipv4_tcp_data')!.hex);
  P.parseFrame(tcp, 0, tcp.length, info);
  t.ok(P.verifyTcp(tcp, info));
  t.notOk(P.verifyUdp(tcp, info), 'verifyUdp on TCP is false');
  t.notOk(P.verifyIcmp(tcp, info));
  t.notOk(P.verifyIcmpv6(tcp, info));
});

t.test('fillL4Checksum recomputes what scapy computed', async (t) => {
  const info = new P.FrameInfo();
  for (const c of frames()) {
    if (c.reason !== 'OK' || !c.ether || c.flags.includes('PARSE_GSO')) continue;
    const b = bytes(c.hex);
    P.parseFrame(b, 0, b.length, info);
    if (info.ipVersion === 0 || info.fragment !== P.FRAG_NONE || info.l4CsumOffset < 0) continue;
    const co = info.l4CsumOffset;
    const want = (b[co]! << 8) | b[co + 1]!;
    if (info.protocol === P.IPPROTO_UDP && want === 0) continue;
    b[co] = 0x12;
    b[co + 1] = 0x34;
    t.ok(P.fillL4Checksum(b, info), c.name);
    t.equal((b[co]! << 8) | b[co + 1]!, want, `${c.name}: checksum`);
  }
});

t.test('crc32c known answer (RFC 3720 B.4: 32 bytes of zeros)', async (t) => {
  t.equal(P.crc32c(new Uint8Array(32), 0, 32, 0), 0x8a9136aa);
  t.equal(P.crc32c(new Uint8Array(32).fill(0xff), 0, 32, 0), 0x62a8ab43);
});
