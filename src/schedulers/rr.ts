// rr — Round-Robin scheduling. Reference: net/netfilter/ipvs/ip_vs_rr.c. The service keeps
// the last chosen position and each new connection goes to the next usable real server
// (weight > 0, not overloaded), wrapping around; the first pick is the head of the list.

import { destUsable, type SchedService, type Scheduler } from './scheduler.js';

export const rr: Scheduler = {
  name: 'rr',
  init(svc: SchedService): void {
    svc.state[0] = -1;
  },
  schedule(svc: SchedService): number {
    const n = svc.destCount;
    let p = svc.state[0]!;
    for (let k = 0; k < n; k++) {
      p = p + 1 >= n ? 0 : p + 1;
      if (destUsable(svc, p)) {
        svc.state[0] = p;
        return p;
      }
    }
    return -1;
  },
};
