// Allocation-free byte copies for the output helpers (gso.ts, fragment.ts, icmp-error.ts),
// which copy from an RX frame into a TX slot on every packet. bytes.ts's copyBytes makes a
// subarray view for long copies between two arrays (set() takes no source range); these
// never allocate: one array (a single RX+TX mapping) uses copyWithin, a memmove; two
// arrays use a byte loop, fused with the checksum sum where one is needed anyway, so the
// payload is read once.

import { sumWords } from './checksum.js';

/** Copy len bytes from src[sOff] to dst[dOff] without allocating. Ranges in one array may overlap (memmove). */
export function copyRange(dst: Uint8Array, dOff: number, src: Uint8Array, sOff: number, len: number): void {
  if (dst === src) {
    dst.copyWithin(dOff, sOff, sOff + len);
    return;
  }
  for (let i = 0; i < len; i++) dst[dOff + i] = src[sOff + i]!;
}

/**
 * Copy len bytes from src[sOff] to dst[dOff] and return acc plus the one's-complement sum of
 * those bytes as 16-bit words starting at src[sOff] (sumWords semantics: an odd last byte is
 * padded with zero; unfolded result < 2^31; acc must be < 2^31). Ranges in one array must
 * not overlap.
 */
export function copyAndSum(dst: Uint8Array, dOff: number, src: Uint8Array, sOff: number, len: number, acc: number): number {
  if (dst === src) {
    dst.copyWithin(dOff, sOff, sOff + len);
    return sumWords(src, sOff, sOff + len, acc);
  }
  let s = (acc & 0xffff) + (acc >>> 16);
  let i = 0;
  const last = len - 1; // a word starting at i needs i < last
  while (i < last) {
    // 32 KiB chunk: 16384 words * 0xffff < 2^30, no int32 overflow before the fold.
    let lim = i + 0x8000;
    if (lim > last) lim = last;
    while (i < lim) {
      const hi = src[sOff + i]!;
      const lo = src[sOff + i + 1]!;
      dst[dOff + i] = hi;
      dst[dOff + i + 1] = lo;
      s += (hi << 8) | lo;
      i += 2;
    }
    s = (s & 0xffff) + (s >>> 16);
  }
  if (i < len) {
    const hi = src[sOff + i]!;
    dst[dOff + i] = hi;
    s += hi << 8;
  }
  return s;
}
