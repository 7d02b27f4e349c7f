// Hash helpers and the exact weighted comparison: schedulers.md §15 values, the hsiphash
// reference vector of §11, and agreement with straightforward BigInt versions.
import t from 'tap';
import { hash32, hsiphash32, sipKey } from '../../src/schedulers/hash.js';
import { lessLoaded } from '../../src/schedulers/least.js';
import { ip, seeded } from './fixtures/bench.js';

t.test('hash_32 with 8 bits (§15)', async (t) => {
  const cases: [string, number][] = [
    ['10.0.0.1', 39],
    ['10.0.0.2', 137],
    ['10.0.0.3', 235],
    ['10.0.0.4', 77],
    ['192.168.1.100', 89],
    ['1.2.3.4', 52],
  ];
  for (const [addr, hash] of cases) t.equal(hash32(ip(addr), 8), hash, addr);
  t.equal(hash32(0x0a000001 + 12345, 8), 134, 'sh-port example: 10.0.0.1 + port 12345');
});

t.test('hsiphash reference vector (§11)', async (t) => {
  const key = sipKey(0x0706050403020100n, 0x0f0e0d0c0b0a0908n);
  // Input bytes 00 01 02 03 = the little-endian u32 0x03020100.
  t.equal(hsiphash32(key, 0x03020100), 0x88d38328);
});

/** SipHash-1-3 of 4 bytes with 64-bit words, written plainly with BigInt. */
function referenceHsiphash(k0: bigint, k1: bigint, value: number): number {
  const mask = (1n << 64n) - 1n;
  const rol = (x: bigint, b: bigint): bigint => ((x << b) | (x >> (64n - b))) & mask;
  let v0 = 0x736f6d6570736575n ^ k0;
  let v1 = 0x646f72616e646f6dn ^ k1;
  let v2 = 0x6c7967656e657261n ^ k0;
  let v3 = 0x7465646279746573n ^ k1;
  const round = (): void => {
    v0 = (v0 + v1) & mask;
    v1 = rol(v1, 13n) ^ v0;
    v0 = rol(v0, 32n);
    v2 = (v2 + v3) & mask;
    v3 = rol(v3, 16n) ^ v2;
    v0 = (v0 + v3) & mask;
    v3 = rol(v3, 21n) ^ v0;
    v2 = (v2 + v1) & mask;
    v1 = rol(v1, 17n) ^ v2;
    v2 = rol(v2, 32n);
  };
  const b = (4n << 56n) | BigInt(value >>> 0);
  v3 ^= b;
  round();
  v0 ^= b;
  v2 ^= 0xffn;
  round();
  round();
  round();
  return Number((v0 ^ v1 ^ v2 ^ v3) & 0xffffffffn);
}

t.test('hsiphash32 equals a BigInt SipHash-1-3 on random keys and inputs', async (t) => {
  const rnd = seeded(7);
  const word = (): bigint => (BigInt(Math.floor(rnd() * 2 ** 32)) << 32n) | BigInt(Math.floor(rnd() * 2 ** 32));
  let mismatches = 0;
  for (let i = 0; i < 2000; i++) {
    const k0 = word();
    const k1 = word();
    const v = Math.floor(rnd() * 2 ** 32);
    if (hsiphash32(sipKey(k0, k1), v) !== referenceHsiphash(k0, k1, v)) mismatches++;
  }
  t.equal(mismatches, 0);
});

t.test('lessLoaded is exact beyond 2^53 and keeps ties', async (t) => {
  t.equal(lessLoaded(512, 2, 266, 1), false, '§4: 512*1 > 266*2 is false');
  t.equal(lessLoaded(266, 1, 512, 2), true);
  t.equal(lessLoaded(5, 1, 5, 1), false, 'tie keeps the earlier');
  const rnd = seeded(11);
  let mismatches = 0;
  for (let i = 0; i < 5000; i++) {
    // Loads up to 2^40 (int32 counts), weights up to 2^31; every fourth case a near-tie.
    const loadL = Math.floor(rnd() * 2 ** 40);
    const weightL = Math.floor(rnd() * 2 ** 31);
    const weightD = Math.floor(rnd() * 2 ** 31);
    const loadD = i % 4 === 0 ? Math.floor((loadL * weightD) / weightL) + Math.floor(rnd() * 3) - 1 : Math.floor(rnd() * 2 ** 40);
    if (loadD < 0 || loadD > 2 ** 40) continue;
    const exact = BigInt(loadL) * BigInt(weightD) > BigInt(loadD) * BigInt(weightL);
    if (lessLoaded(loadL, weightL, loadD, weightD) !== exact) mismatches++;
  }
  t.equal(mismatches, 0);
  // k*k against (k+1)*(k-1) = k*k - 1: equal as doubles, one apart exactly.
  const k = 2 ** 31 - 1;
  t.equal(k * k, (k + 1) * (k - 1), 'doubles cannot tell them apart');
  t.equal(lessLoaded(k, k - 1, k + 1, k), true);
  t.equal(lessLoaded(k + 1, k, k, k - 1), false);
});
