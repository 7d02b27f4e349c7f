// lblc — Locality-Based Least-Connection scheduling. Reference:
// net/netfilter/ipvs/ip_vs_lblc.c; schedulers.md §7.
// For cache clusters: the key is the packet's destination address (flow.vaddr), and a
// table remembers which server last took each one. A remembered server is used again
// while it is in the service, has weight > 0 and is not "overloaded" in lblc's own sense
// (locality.ts; the OVERLOAD threshold flag is not consulted on this path); otherwise the
// wlc rule picks one and the entry is pointed at it. Entries name the server by its stats
// slot (its stable identity), so one removed from the service (svc.positionOf(slot) === -1)
// is unavailable, and available again if it is added back. The table survives server
// changes; its garbage collection is described in locality.ts.

import { weightedLeast } from './least.js';
import { LocalityTable, localityOverloaded, type LocalityEntry } from './locality.js';
import { destOverhead, type Scheduler } from './scheduler.js';
import type { SchedService } from './service.js';

interface LblcEntry extends LocalityEntry {
  /** Stats slot of the server. */
  slot: number;
}

function table(svc: SchedService): LocalityTable<LblcEntry> {
  return svc.data as LocalityTable<LblcEntry>;
}

/** sysctl lblc_expiration for this service (seconds; default 24 h): idle entries older than this are collected. */
export function setLblcExpiration(svc: SchedService, seconds: number): void {
  table(svc).expirationMs = seconds * 1000;
}

export const lblc: Scheduler = {
  name: 'lblc',
  init(svc) {
    svc.data = new LocalityTable<LblcEntry>();
  },
  schedule(svc, flow) {
    const t = table(svc);
    t.advance(flow.now);
    const entry = t.entries.get(flow.vaddr);
    if (entry) {
      entry.lastuse = flow.now;
      const p = svc.positionOf(entry.slot);
      if (p >= 0 && svc.destWeight[p]! > 0 && !localityOverloaded(svc, p)) return p;
    }
    const p = weightedLeast(svc, destOverhead);
    if (p < 0) return -1;
    const slot = svc.destSlot[p]!;
    if (entry) entry.slot = slot;
    else t.entries.set(flow.vaddr, { slot, lastuse: flow.now });
    return p;
  },
};
