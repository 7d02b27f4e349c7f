// twos — Power of Two Choices scheduling. Reference: net/netfilter/ipvs/ip_vs_twos.c;
// schedulers.md §14.
// Two servers are drawn at random, each with probability proportional to its weight,
// from the usable ones (weight > 0, not OVERLOAD); the less loaded of the two per weight
// (overhead active*256 + inactive, the least.ts comparison) wins, the first draw on a tie.
// Each draw is uniform over 0..W inclusive (W = total weight), as the kernel's
// get_random_u32_below(W + 1); walking the list, the server at which the draw, minus the
// weights so far, reaches <= 0 is chosen, which gives the first server one extra unit.

import { lessLoaded } from './least.js';
import { destOverhead, destUsable, type Scheduler } from './scheduler.js';

export const twos: Scheduler = {
  name: 'twos',
  init() {},
  schedule(svc) {
    let total = 0;
    for (let p = 0; p < svc.destCount; p++) if (destUsable(svc, p)) total += svc.destWeight[p]!;
    if (total === 0) return -1;
    let draw1 = Math.floor(svc.random() * (total + 1));
    let draw2 = Math.floor(svc.random() * (total + 1));
    let choice1 = -1;
    let choice2 = -1;
    for (let p = 0; p < svc.destCount && (choice1 < 0 || choice2 < 0); p++) {
      if (!destUsable(svc, p)) continue;
      const weight = svc.destWeight[p]!;
      draw1 -= weight;
      draw2 -= weight;
      if (draw1 <= 0 && choice1 < 0) choice1 = p;
      if (draw2 <= 0 && choice2 < 0) choice2 = p;
    }
    const weight1 = svc.destWeight[choice1]!;
    const weight2 = svc.destWeight[choice2]!;
    return lessLoaded(destOverhead(svc, choice1), weight1, destOverhead(svc, choice2), weight2) ? choice2 : choice1;
  },
};
