// Hash helpers of the hashing schedulers (schedulers.md §11, §15):
// - hash32: the kernel's golden-ratio hash_32 (include/linux/hash.h), used by dh, sh,
//   lblc and lblcr to pick a bucket.
// - hsiphash32: hsiphash of one u32 as a 64-bit kernel computes it (lib/siphash.c):
//   SipHash-1-3 with 64-bit words, truncated to 32 bits; mh hashes every new flow with it.
// SipHash needs 64-bit add/rotate/xor; here each 64-bit word is a pair of uint32 halves
// held in local variables, so a hash allocates nothing (no BigInt on the lookup path).

/** hash_32(v, bits): top `bits` bits of v * 0x61C88647 mod 2^32. */
export function hash32(value: number, bits: number): number {
  return Math.imul(value, 0x61c88647) >>> (32 - bits);
}

/** A 128-bit SipHash key as uint32 halves: [key[0] high, key[0] low, key[1] high, key[1] low]. */
export type SipKey = Readonly<Uint32Array>;

/** Builds a key from the kernel's two 64-bit key words (hsiphash_key_t.key[0], key[1]). */
export function sipKey(word0: bigint, word1: bigint): SipKey {
  const u64 = (w: bigint): [number, number] => [Number(BigInt.asUintN(64, w) >> 32n), Number(BigInt.asUintN(32, w))];
  return Uint32Array.of(...u64(word0), ...u64(word1));
}

/**
 * hsiphash(&v, 4, key) on a 64-bit little-endian kernel: the 4 bytes of `value` (little
 * endian) form the final block together with the length in the top byte; one compression
 * round, then three finalisation rounds; the result is the low 32 bits of v0^v1^v2^v3.
 */
export function hsiphash32(key: SipKey, value: number): number {
  const k0h = key[0]!;
  const k0l = key[1]!;
  const k1h = key[2]!;
  const k1l = key[3]!;
  // "somepseudorandomlygeneratedbytes" initial state, xored with the key.
  let v0h = (0x736f6d65 ^ k0h) >>> 0;
  let v0l = (0x70736575 ^ k0l) >>> 0;
  let v1h = (0x646f7261 ^ k1h) >>> 0;
  let v1l = (0x6e646f6d ^ k1l) >>> 0;
  let v2h = (0x6c796765 ^ k0h) >>> 0;
  let v2l = (0x6e657261 ^ k0l) >>> 0;
  let v3h = (0x74656462 ^ k1h) >>> 0;
  let v3l = (0x79746573 ^ k1l) >>> 0;
  // Last (only) block b = len << 56 | data bytes.
  const bh = 4 << 24;
  const bl = value >>> 0;
  v3h = (v3h ^ bh) >>> 0;
  v3l = (v3l ^ bl) >>> 0;
  let sum: number;
  let th: number;
  let tl: number;
  for (let round = 0; round < 4; round++) {
    if (round === 1) {
      // After the single compression round: absorb b, mark finalisation.
      v0h = (v0h ^ bh) >>> 0;
      v0l = (v0l ^ bl) >>> 0;
      v2l = (v2l ^ 0xff) >>> 0;
    }
    // SIPROUND. v0 += v1; v1 = rol(v1, 13) ^ v0; v0 = rol(v0, 32)
    sum = v0l + v1l;
    v0h = (v0h + v1h + (sum > 0xffffffff ? 1 : 0)) >>> 0;
    v0l = sum >>> 0;
    th = (v1h << 13) | (v1l >>> 19);
    tl = (v1l << 13) | (v1h >>> 19);
    v1h = (th ^ v0h) >>> 0;
    v1l = (tl ^ v0l) >>> 0;
    th = v0h;
    v0h = v0l;
    v0l = th;
    // v2 += v3; v3 = rol(v3, 16) ^ v2
    sum = v2l + v3l;
    v2h = (v2h + v3h + (sum > 0xffffffff ? 1 : 0)) >>> 0;
    v2l = sum >>> 0;
    th = (v3h << 16) | (v3l >>> 16);
    tl = (v3l << 16) | (v3h >>> 16);
    v3h = (th ^ v2h) >>> 0;
    v3l = (tl ^ v2l) >>> 0;
    // v0 += v3; v3 = rol(v3, 21) ^ v0
    sum = v0l + v3l;
    v0h = (v0h + v3h + (sum > 0xffffffff ? 1 : 0)) >>> 0;
    v0l = sum >>> 0;
    th = (v3h << 21) | (v3l >>> 11);
    tl = (v3l << 21) | (v3h >>> 11);
    v3h = (th ^ v0h) >>> 0;
    v3l = (tl ^ v0l) >>> 0;
    // v2 += v1; v1 = rol(v1, 17) ^ v2; v2 = rol(v2, 32)
    sum = v2l + v1l;
    v2h = (v2h + v1h + (sum > 0xffffffff ? 1 : 0)) >>> 0;
    v2l = sum >>> 0;
    th = (v1h << 17) | (v1l >>> 15);
    tl = (v1l << 17) | (v1h >>> 15);
    v1h = (th ^ v2h) >>> 0;
    v1l = (tl ^ v2l) >>> 0;
    th = v2h;
    v2h = v2l;
    v2l = th;
  }
  return (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
}
