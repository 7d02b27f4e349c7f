// lc — Least-Connection scheduling. Reference: net/netfilter/ipvs/ip_vs_lc.c;
// schedulers.md §3.
// Among the usable servers (weight > 0, not OVERLOAD) the one with the smallest overhead
// active*256 + inactive wins; the weight value itself is otherwise ignored. Strict `<`, so
// ties keep the first in list order (the most recently added).

import { destOverhead, destUsable, type Scheduler } from './scheduler.js';

export const lc: Scheduler = {
  name: 'lc',
  init() {},
  schedule(svc) {
    let least = -1;
    let leastOverhead = 0;
    for (let p = 0; p < svc.destCount; p++) {
      if (!destUsable(svc, p)) continue;
      const overhead = destOverhead(svc, p);
      if (least < 0 || overhead < leastOverhead) {
        least = p;
        leastOverhead = overhead;
      }
    }
    return least;
  },
};
