// sh — Source Hashing scheduling. Reference: net/netfilter/ipvs/ip_vs_sh.c;
// schedulers.md §10.
// A 256-bucket table filled by walking the list cyclically, each server taking `weight`
// consecutive buckets (a weight-0 server still takes one), rebuilt on add, edit and
// removal, so it holds list positions. The key is hash_32(client address + port, 8), the
// port only with the sh-port flag (SCHED_F_PORT) and for TCP/UDP/SCTP. A bucket whose
// server has weight 0 or is OVERLOAD means no destination, unless sh-fallback
// (SCHED_F_FALLBACK) is set: then buckets 2*h, 2*h+1, ... (mod 256) are tried in turn, as
// the kernel re-hashes with offset (k + h) and adds h again.

import { hash32 } from './hash.js';
import { destUsable, SCHED_F_FALLBACK, SCHED_F_PORT, type SchedFlow, type Scheduler } from './scheduler.js';
import type { SchedService } from './service.js';

const SH_TAB_BITS = 8;
const SH_TAB_SIZE = 1 << SH_TAB_BITS;

/** The client port that sh and mh hash: the source port with the port flag for TCP, UDP and SCTP, else 0. */
export function hashedClientPort(svc: SchedService, flow: SchedFlow): number {
  if ((svc.flags & SCHED_F_PORT) === 0) return 0;
  const proto = flow.protocol;
  return proto === 6 || proto === 17 || proto === 132 ? flow.cport : 0;
}

function table(svc: SchedService): Int32Array {
  return svc.data as Int32Array;
}

/** Refills the buckets with list positions (-1 when the list is empty). */
function reassign(svc: SchedService): void {
  const buckets = table(svc);
  const n = svc.destCount;
  let p = 0;
  let taken = 0;
  for (let b = 0; b < SH_TAB_SIZE; b++) {
    if (n === 0) {
      buckets[b] = -1;
      continue;
    }
    buckets[b] = p;
    if (++taken >= svc.destWeight[p]!) {
      p = p + 1 === n ? 0 : p + 1;
      taken = 0;
    }
  }
}

export const sh: Scheduler = {
  name: 'sh',
  init(svc) {
    svc.data = new Int32Array(SH_TAB_SIZE);
    reassign(svc);
  },
  addDest: reassign,
  updateDest: reassign,
  removeDest: reassign,
  schedule(svc, flow) {
    const buckets = table(svc);
    const hash = hash32((flow.caddr + hashedClientPort(svc, flow)) >>> 0, SH_TAB_BITS);
    const p = buckets[hash]!;
    if (p < 0) return -1;
    if (destUsable(svc, p)) return p;
    if ((svc.flags & SCHED_F_FALLBACK) === 0) return -1;
    for (let k = 0; k < SH_TAB_SIZE; k++) {
      const q = buckets[(2 * hash + k) & (SH_TAB_SIZE - 1)]!;
      if (q < 0) return -1;
      if (destUsable(svc, q)) return q;
    }
    return -1;
  },
};
