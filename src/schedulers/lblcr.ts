// lblcr — Locality-Based Least-Connection with Replication scheduling. Reference:
// net/netfilter/ipvs/ip_vs_lblcr.c; schedulers.md §8.
// Like lblc (keyed by the packet's destination address, same table and collection,
// locality.ts), but an entry holds a set of servers (stats slots, newest first) that
// grows when its members are busy: a lookup takes the weighted least loaded member in
// the service (wlc comparison, skipping OVERLOAD); when that one is lblc-overloaded or
// there is none, wlc over the whole service picks a server, which joins the set. A set
// of several members unchanged for lblcr_expiration (default 24 h) loses its weighted
// most loaded member on the next lookup. Members removed from the service stay in the
// set, unavailable, and count for that pruning with the weight they had, as the kernel's
// set keeps the removed server's structure: so the weights seen per slot are recorded.

import { WeightedChoice, weightedLeast } from './least.js';
import { LocalityTable, localityOverloaded, type LocalityEntry } from './locality.js';
import { destOverhead, type Scheduler } from './scheduler.js';
import type { SchedService } from './service.js';

interface LblcrEntry extends LocalityEntry {
  /** Stats slots, most recently added first. */
  members: number[];
  /** Last time a member was added or removed, ms. */
  lastmod: number;
}

interface LblcrState {
  table: LocalityTable<LblcrEntry>;
  /** Latest weight of every slot the service has had (removed servers keep theirs). */
  weightBySlot: Map<number, number>;
}

function state(svc: SchedService): LblcrState {
  return svc.data as LblcrState;
}

/** sysctl lblcr_expiration for this service (seconds; default 24 h): entry collection and set pruning age. */
export function setLblcrExpiration(svc: SchedService, seconds: number): void {
  state(svc).table.expirationMs = seconds * 1000;
}

function recordWeight(svc: SchedService, position: number): void {
  state(svc).weightBySlot.set(svc.destSlot[position]!, svc.destWeight[position]!);
}

const least = new WeightedChoice();
const most = new WeightedChoice(true);

/** The set's weighted least loaded member that is in the service and not OVERLOAD: its position, or -1. */
function leastMember(svc: SchedService, members: readonly number[]): number {
  least.reset();
  for (let i = 0; i < members.length; i++) {
    const slot = members[i]!;
    if (svc.counters.overload[slot] !== 0) continue;
    const p = svc.positionOf(slot);
    if (p >= 0) least.offer(p, destOverhead(svc, p), svc.destWeight[p]!);
  }
  return least.id;
}

/** Index in `members` of the weighted most loaded member with weight > 0 (removed ones included), or -1. */
function mostMember(svc: SchedService, members: readonly number[]): number {
  const { counters } = svc;
  const weights = state(svc).weightBySlot;
  most.reset();
  for (let i = 0; i < members.length; i++) {
    const slot = members[i]!;
    most.offer(i, counters.active[slot]! * 256 + counters.inactive[slot]!, weights.get(slot) ?? 0);
  }
  return most.id;
}

export const lblcr: Scheduler = {
  name: 'lblcr',
  init(svc) {
    svc.data = { table: new LocalityTable<LblcrEntry>(), weightBySlot: new Map() } satisfies LblcrState;
    for (let p = 0; p < svc.destCount; p++) recordWeight(svc, p);
  },
  addDest: recordWeight,
  updateDest: recordWeight,
  schedule(svc, flow) {
    const { table } = state(svc);
    const now = flow.now;
    table.advance(now);
    const entry = table.entries.get(flow.vaddr);
    if (!entry) {
      const p = weightedLeast(svc, destOverhead);
      if (p >= 0) table.entries.set(flow.vaddr, { members: [svc.destSlot[p]!], lastmod: now, lastuse: now });
      return p;
    }
    entry.lastuse = now;
    const chosen = leastMember(svc, entry.members);
    if (entry.members.length > 1 && now > entry.lastmod + table.expirationMs) {
      // Prune; `chosen` is still used below even if it was the member removed.
      const i = mostMember(svc, entry.members);
      if (i >= 0) {
        entry.members.splice(i, 1);
        entry.lastmod = now;
      }
    }
    if (chosen >= 0 && !localityOverloaded(svc, chosen)) return chosen;
    const p = weightedLeast(svc, destOverhead);
    if (p < 0) return -1;
    const slot = svc.destSlot[p]!;
    if (!entry.members.includes(slot)) {
      entry.members.unshift(slot);
      entry.lastmod = now;
    }
    return p;
  },
};
