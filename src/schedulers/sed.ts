// sed — Shortest Expected Delay scheduling. Reference: net/netfilter/ipvs/ip_vs_sed.c;
// schedulers.md §5.
// The wlc rule with the expected delay (active + 1) / weight as the load: the "+ 1"
// counts the new connection itself, so a heavier server is preferred even over an idle
// light one until its queue grows. Inactive connections are ignored.

import { sedLoad, weightedLeast } from './least.js';
import type { Scheduler } from './scheduler.js';

export const sed: Scheduler = {
  name: 'sed',
  init() {},
  schedule(svc) {
    return weightedLeast(svc, sedLoad);
  },
};
