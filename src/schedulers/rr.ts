// rr — Round-Robin scheduling. Reference: net/netfilter/ipvs/ip_vs_rr.c; schedulers.md §1.
// The service keeps a cursor (a list position; -1 = the list head, before the first
// server). Each new connection goes to the next usable real server (weight > 0, not
// OVERLOAD) after the cursor, wrapping around. Removing the server under the cursor moves
// the cursor to the previous element; additions (at the head) do not move it.

import { destUsable, type Scheduler } from './scheduler.js';
import type { SchedService } from './service.js';

interface RrState {
  cursor: number;
}

function state(svc: SchedService): RrState {
  return svc.data as RrState;
}

export const rr: Scheduler = {
  name: 'rr',
  init(svc) {
    svc.data = { cursor: -1 } satisfies RrState;
  },
  addDest(svc, position) {
    // The cursor names an element; an insertion before it shifts its position.
    const s = state(svc);
    if (s.cursor >= position) s.cursor++;
  },
  removeDest(svc, position) {
    const s = state(svc);
    if (s.cursor >= position) s.cursor--;
  },
  schedule(svc) {
    const s = state(svc);
    const n = svc.destCount;
    let p = s.cursor;
    for (let k = 0; k < n; k++) {
      p = p + 1 >= n ? 0 : p + 1;
      if (destUsable(svc, p)) {
        s.cursor = p;
        return p;
      }
    }
    return -1;
  },
};
