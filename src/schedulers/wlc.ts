// wlc — Weighted Least-Connection scheduling (the IPVS default). Reference:
// net/netfilter/ipvs/ip_vs_wlc.c; schedulers.md §4.
// The weighted least overhead (active*256 + inactive) over the servers that are not
// OVERLOAD, compared by cross-multiplying with the weights (least.ts); ties keep the first
// in list order. UDP connections are all inactive, so UDP balances on inactive/weight.

import { weightedLeast } from './least.js';
import { destOverhead, type Scheduler } from './scheduler.js';

export const wlc: Scheduler = {
  name: 'wlc',
  init() {},
  schedule(svc) {
    return weightedLeast(svc, destOverhead);
  },
};
