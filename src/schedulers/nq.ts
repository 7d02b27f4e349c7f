// nq — Never Queue scheduling. Reference: net/netfilter/ipvs/ip_vs_nq.c; schedulers.md §6.
// The first usable server (weight > 0, not OVERLOAD) with no active connection gets the
// connection at once, whatever its weight (inactive connections do not count); when none
// is idle, the sed rule decides.

import { sedLoad, weightedLeast } from './least.js';
import { destActive, destUsable, type Scheduler } from './scheduler.js';

export const nq: Scheduler = {
  name: 'nq',
  init() {},
  schedule(svc) {
    for (let p = 0; p < svc.destCount; p++) {
      if (destUsable(svc, p) && destActive(svc, p) === 0) return p;
    }
    return weightedLeast(svc, sedLoad);
  },
};
