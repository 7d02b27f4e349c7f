// Hash helpers of the hashing schedulers (schedulers.md §11, §15):
// - hash32: the kernel's golden-ratio hash_32 (include/linux/hash.h), used by dh, sh,
//   lblc and lblcr to pick a bucket.
// - hsiphash32: hsiphash of one u32 as a 64-bit kernel computes it (lib/siphash.c):
//   SipHash-1-3 with 64-bit words, truncated to 32 bits; mh hashes every new flow with it.
// SipHash needs 64-bit add/rotate/xor; here each 64-bit word is a pair of uint32 halves
// in a reused Uint32Array (stores wrap mod 2^32), so a hash allocates nothing (no BigInt
// on the lookup path).

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

/** SipHash state v0..v3 as [v0 high, v0 low, v1 high, ...]: scratch reused by every hash. */
const v = new Uint32Array(8);

/** Half a SipRound step on words a, b (indices 0..3): a += b; b = rol(b, bits) ^ a (0 < bits < 32). */
function mix(a: number, b: number, bits: number): void {
  const ah = 2 * a;
  const bh = 2 * b;
  const low = v[ah + 1]! + v[bh + 1]!;
  v[ah] = v[ah]! + v[bh]! + (low > 0xffffffff ? 1 : 0);
  v[ah + 1] = low;
  const high = v[bh]!;
  v[bh] = ((high << bits) | (v[bh + 1]! >>> (32 - bits))) ^ v[ah]!;
  v[bh + 1] = ((v[bh + 1]! << bits) | (high >>> (32 - bits))) ^ v[ah + 1]!;
}

/** Word a = rol(a, 32): swap its halves. */
function swapHalves(a: number): void {
  const high = v[2 * a]!;
  v[2 * a] = v[2 * a + 1]!;
  v[2 * a + 1] = high;
}

/**
 * hsiphash(&v, 4, key) on a 64-bit little-endian kernel: the 4 bytes of `value` (little
 * endian) form the final block together with the length in the top byte; one compression
 * round, then three finalisation rounds; the result is the low 32 bits of v0^v1^v2^v3.
 */
export function hsiphash32(key: SipKey, value: number): number {
  // "somepseudorandomlygeneratedbytes" xored with the key words 0, 1, 0, 1.
  v[0] = 0x736f6d65 ^ key[0]!;
  v[1] = 0x70736575 ^ key[1]!;
  v[2] = 0x646f7261 ^ key[2]!;
  v[3] = 0x6e646f6d ^ key[3]!;
  v[4] = 0x6c796765 ^ key[0]!;
  v[5] = 0x6e657261 ^ key[1]!;
  v[6] = 0x74656462 ^ key[2]!;
  v[7] = 0x79746573 ^ key[3]!;
  // The last (only) block b = len << 56 | data bytes goes into v3 before the round, v0 after.
  const blockHigh = 4 << 24;
  v[6] ^= blockHigh;
  v[7] ^= value;
  for (let round = 0; round < 4; round++) {
    if (round === 1) {
      v[0] ^= blockHigh;
      v[1] ^= value;
      v[5] ^= 0xff;
    }
    mix(0, 1, 13);
    swapHalves(0);
    mix(2, 3, 16);
    mix(0, 3, 21);
    mix(2, 1, 17);
    swapHalves(2);
  }
  return (v[1]! ^ v[3]! ^ v[5]! ^ v[7]!) >>> 0;
}
