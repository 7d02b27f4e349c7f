// dh — Destination Hashing scheduling. Reference: net/netfilter/ipvs/ip_vs_dh.c;
// schedulers.md §9.
// The key is the packet's destination address: bucket hash_32(daddr, 8) of a 256-bucket
// table. The kernel fills bucket i with the (i mod n)-th server in list order, one bucket
// per server whatever its weight, and refills it on every add and removal (not on edits,
// which cannot change it). So the bucket's server is always position bucket mod n of the
// current list: computing that directly is the same table without keeping it. No fallback:
// a bucket whose server has weight 0 or is OVERLOAD means no destination.

import { hash32 } from './hash.js';
import { destUsable, type Scheduler } from './scheduler.js';

const DH_TAB_BITS = 8;

export const dh: Scheduler = {
  name: 'dh',
  init() {},
  schedule(svc, flow) {
    if (svc.destCount === 0) return -1;
    const p = hash32(flow.vaddr, DH_TAB_BITS) % svc.destCount;
    return destUsable(svc, p) ? p : -1;
  },
};
