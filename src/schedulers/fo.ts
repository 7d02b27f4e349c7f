// fo — Weighted Failover scheduling. Reference: net/netfilter/ipvs/ip_vs_fo.c;
// schedulers.md §12.
// Every new connection goes to the usable server (weight > 0, not OVERLOAD) with the
// highest weight; connection counts are ignored. Strict `>`, so among equal weights the
// first in list order wins. ovf (ovf.ts) is the same scan with an active-connection cap.

import { destActive, destUsable, type Scheduler } from './scheduler.js';
import type { SchedService } from './service.js';

/**
 * The usable server with the highest weight, first in list order on ties; with
 * `capByWeight`, servers whose active connections exceed their weight are skipped too.
 */
export function heaviest(svc: SchedService, capByWeight: boolean): number {
  let best = -1;
  let bestWeight = 0;
  for (let p = 0; p < svc.destCount; p++) {
    if (!destUsable(svc, p)) continue;
    const weight = svc.destWeight[p]!;
    if (capByWeight && destActive(svc, p) > weight) continue;
    if (weight > bestWeight) {
      best = p;
      bestWeight = weight;
    }
  }
  return best;
}

export const fo: Scheduler = {
  name: 'fo',
  init() {},
  schedule(svc) {
    return heaviest(svc, false);
  },
};
