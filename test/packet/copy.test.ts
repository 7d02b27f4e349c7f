// copy.ts: the allocation-free copies and sums used by the segmentation helpers agree with
// a plain byte copy and with checksum.ts's sumWords, across and within arrays, at every
// alignment, for short and long ranges, and with more arrays than the DataView cache holds.
import t from 'tap';
import * as P from '../../src/packet/index.js';

let seed = 99;
const rnd = (n: number): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed % n;
};
const filled = (n: number): Uint8Array => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rnd(256);
  return b;
};

t.test('sumRange folds to the same value as sumWords', async (t) => {
  const b = filled(140_000);
  b.fill(0xff, 0, 70_000); // worst case for carries
  let bad = 0;
  const lens = [0, 1, 2, 3, 7, 8, 9, 63, 64, 65, 66, 1447, 1448, 1449, 32767, 32768, 32769, 65535, 65536, 69_999];
  for (const len of lens) {
    for (const start of [0, 1, 2, 3, 5, 4097]) {
      for (const acc of [0, 1, 0xffff, 0x7fff0000]) {
        // Unfolded sums may differ (folded at other points); the folded value may not.
        const r = P.sumRange(b, start, start + len, acc);
        if (!(r >= 0 && r < 2 ** 31) || P.fold(r) !== P.fold(P.sumWords(b, start, start + len, acc))) bad++;
      }
    }
  }
  t.equal(bad, 0);
});

t.test('copyRange / copyAndSum across arrays and within one', async (t) => {
  let bad = 0;
  // More arrays than the view cache (32) so entries are evicted and recreated.
  const arrays = Array.from({ length: 40 }, () => filled(80_000));
  // Views on a shared buffer at an odd byte offset.
  const shared = new ArrayBuffer(200_000);
  arrays.push(new Uint8Array(shared, 3, 90_000), new Uint8Array(shared, 100_001, 90_000));
  for (const a of arrays.slice(-2)) for (let i = 0; i < a.length; i++) a[i] = rnd(256);
  for (let k = 0; k < 1500; k++) {
    const src = arrays[rnd(arrays.length)]!;
    let dst = arrays[rnd(arrays.length)]!;
    const len = k % 5 === 0 ? rnd(70_000) : rnd(300);
    const sOff = rnd(src.length - len);
    let dOff = rnd(dst.length - len);
    if (dst === src) {
      // copyAndSum needs non-overlapping ranges within one array; copyRange allows overlap.
      if (Math.abs(dOff - sOff) < len) dst = arrays[(arrays.indexOf(src) + 1) % arrays.length]!;
      dOff = rnd(dst.length - len);
    }
    const want = src.slice(sOff, sOff + len);
    const wantSum = P.fold(P.sumWords(src, sOff, sOff + len, 12345));
    const before = dst.slice();
    const got = P.copyAndSum(dst, dOff, src, sOff, len, 12345);
    if (P.fold(got) !== wantSum) bad++;
    if (P.bytesToHex(dst.subarray(dOff, dOff + len)) !== P.bytesToHex(want)) bad++;
    if (dOff > 0 && dst[dOff - 1] !== before[dOff - 1]) bad++;
    if (dOff + len < dst.length && dst[dOff + len] !== before[dOff + len]) bad++;
    // copyRange, possibly overlapping within one array.
    const a = arrays[rnd(arrays.length)]!;
    const l2 = rnd(500);
    const s2 = rnd(a.length - l2);
    const d2 = Math.max(0, Math.min(a.length - l2, s2 + rnd(200) - 100));
    const w2 = a.slice(s2, s2 + l2);
    P.copyRange(a, d2, a, s2, l2);
    if (P.bytesToHex(a.subarray(d2, d2 + l2)) !== P.bytesToHex(w2)) bad++;
    const b = arrays[rnd(arrays.length)]!;
    if (b !== a) {
      const d3 = rnd(b.length - l2);
      P.copyRange(b, d3, a, s2, l2);
      if (P.bytesToHex(b.subarray(d3, d3 + l2)) !== P.bytesToHex(a.subarray(s2, s2 + l2))) bad++;
    }
  }
  t.equal(bad, 0);
});
