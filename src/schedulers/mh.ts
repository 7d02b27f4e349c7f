// mh — Maglev Hashing scheduling. Reference: net/netfilter/ipvs/ip_vs_mh.c; schedulers.md
// §11; Eisenbud et al., "Maglev", NSDI 2016.
// A lookup table of M = 4093 slots (prime) holds list positions. Each server has a
// preference order over the slots, a permutation given by an offset and a skip hashed
// from its address and port; servers take turns in list order, each claiming its next
// free preferred slot `turns` times a round (last weight / gcd, shifted so the largest is
// at most 6 bits), until every slot is taken. Removing a server moves the slots it held
// plus a few (about 2% of this small table, see test/schedulers/mh.test.ts), which is the
// point of Maglev. The table is rebuilt on add, edit and
// removal; it uses the last non-zero weight, so quiescing (weight 0) leaves it unchanged
// and flows landing on the quiesced server find it unavailable. A flow's slot is
// hsiphash(client address + port) mod M, the port only with mh-port (SCHED_F_PORT);
// mh-fallback (SCHED_F_FALLBACK) re-hashes with offsets (k + slot) mod M until a usable
// server turns up.

import { hsiphash32, sipKey } from './hash.js';
import { destUsable, SCHED_F_FALLBACK, type Scheduler } from './scheduler.js';
import type { SchedService } from './service.js';
import { hashedClientPort } from './sh.js';
import { maxWeight, weightGcd } from './wrr.js';

/** CONFIG_IP_VS_MH_TAB_INDEX 12: primes[12 - 8] of {251, 509, 1021, 2039, 4093, ...}. */
export const MH_TAB_SIZE = 4093;
/** IP_VS_MH_TAB_BITS (12 / 2): turns are kept within this many bits. */
const MH_TURN_BITS = 6;
/** The kernel's fixed keys (no random seed), so every box builds the same table. */
const KEY1 = sipKey(2654435761n, 2654435761n);
const KEY2 = sipKey(2654446892n, 2654446892n);

/** The lookup table (slot -> list position, -1 = empty) and build scratch per position. */
class MhState {
  readonly lookup = new Int32Array(MH_TAB_SIZE).fill(-1);
  readonly taken = new Uint8Array(MH_TAB_SIZE);
  perm = new Int32Array(8);
  skip = new Int32Array(8);
  turns = new Int32Array(8);
}

const state = (svc: SchedService): MhState => svc.data as MhState;

/** Highest set bit, 1-based (fls); 0 for 0. */
function fls(v: number): number {
  return 32 - Math.clz32(v);
}

/** The server's stride through the table: hash of its port + address with key 2, in 1..M-1. */
export function mhSkip(address: number, port: number): number {
  return (hsiphash32(KEY2, (port + address) >>> 0) % (MH_TAB_SIZE - 1)) + 1;
}

/**
 * hash(key 1, offset + port + address) mod M: a client's slot (offset 0, or the fallback's
 * re-hash offsets), and a server's first preferred slot (its port and address).
 */
export function mhSlot(address: number, port: number, offset = 0): number {
  return hsiphash32(KEY1, (offset + port + address) >>> 0) % MH_TAB_SIZE;
}

function reassign(svc: SchedService): void {
  const s = state(svc);
  const n = svc.destCount;
  if (s.perm.length < n) {
    s.perm = new Int32Array(n);
    s.skip = new Int32Array(n);
    s.turns = new Int32Array(n);
  }
  const g = weightGcd(svc.destLastWeight, n);
  // No weight ever set, or more servers than slots (the kernel refuses to rebuild then,
  // keeping a stale table; positions would be stale here, so the table is emptied).
  if (g === 0 || n > MH_TAB_SIZE) {
    s.lookup.fill(-1);
    return;
  }
  const shift = Math.max(0, fls(Math.trunc(maxWeight(svc.destLastWeight, n) / g)) - MH_TURN_BITS);
  for (let p = 0; p < n; p++) {
    const address = svc.destAddr[p]!;
    const port = svc.destPort[p]!;
    s.perm[p] = mhSlot(address, port);
    s.skip[p] = mhSkip(address, port);
    const w = svc.destLastWeight[p]!;
    s.turns[p] = Math.trunc(w / g) >> shift || (w !== 0 ? 1 : 0);
  }
  s.taken.fill(0);
  let filled = 0;
  for (;;) {
    for (let p = 0; p < n; p++) {
      for (let turn = 0; turn < s.turns[p]!; turn++) {
        let slot = s.perm[p]!;
        while (s.taken[slot] !== 0) {
          slot += s.skip[p]!;
          if (slot >= MH_TAB_SIZE) slot -= MH_TAB_SIZE;
        }
        s.perm[p] = slot;
        s.taken[slot] = 1;
        s.lookup[slot] = p;
        if (++filled === MH_TAB_SIZE) return;
      }
    }
  }
}

export const mh: Scheduler = {
  name: 'mh',
  init(svc) {
    svc.data = new MhState();
    reassign(svc);
  },
  addDest: reassign,
  updateDest: reassign,
  removeDest: reassign,
  schedule(svc, flow) {
    const lookup = state(svc).lookup;
    const port = hashedClientPort(svc, flow);
    const first = mhSlot(flow.caddr, port);
    const p = lookup[first]!;
    if (p < 0) return -1;
    if (destUsable(svc, p)) return p;
    if ((svc.flags & SCHED_F_FALLBACK) === 0) return -1;
    for (let k = 0; k < MH_TAB_SIZE; k++) {
      const q = lookup[mhSlot(flow.caddr, port, (k + first) % MH_TAB_SIZE)]!;
      if (q < 0) return -1;
      if (destUsable(svc, q)) return q;
    }
    return -1;
  },
};

/** The table (slot -> list position, -1 empty), for tests and listings. */
export function mhTable(svc: SchedService): Readonly<Int32Array> {
  return state(svc).lookup;
}
