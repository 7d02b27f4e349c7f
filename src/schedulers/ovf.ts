// ovf — Weighted Overflow scheduling. Reference: net/netfilter/ipvs/ip_vs_ovf.c;
// schedulers.md §13.
// fo's highest-weight choice among the usable servers whose active connections do not
// exceed their weight: a server at active == weight is still eligible, so it takes
// weight + 1 active connections before the next one gets any. Only active connections
// count, so UDP services never overflow.

import { heaviest } from './fo.js';
import type { Scheduler } from './scheduler.js';

export const ovf: Scheduler = {
  name: 'ovf',
  init() {},
  schedule(svc) {
    return heaviest(svc, true);
  },
};
