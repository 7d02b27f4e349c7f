// What lblc and lblcr share (net/netfilter/ipvs/ip_vs_lblc.c, ip_vs_lblcr.c;
// schedulers.md §7, §8): their "overloaded" test and their table of entries keyed by the
// packet's destination address, with its garbage collection.
//
// The kernel collects garbage from a timer every 60 s. There are no timers here: the
// table runs the ticks that have come due whenever the scheduler is called, each with
// its own tick time, before the lookup (`advance(now)`); the tick clock starts at the
// first call (the kernel's at service creation). The ticks themselves are the kernel's:
// a counter starting at 1 counts ticks in which the table is within max_size; when it
// reaches 30 a full pass deletes every entry unused for the expiration (sysctl
// lblc_expiration / lblcr_expiration, default 24 h) and the counter restarts at 1; a tick
// with more than max_size entries instead deletes entries idle for 6 minutes, bucket by
// bucket (buckets of hash_32(daddr, 10)) from where the previous pass stopped, until it
// has deleted min((entries - max_size) * 4/3, max_size/2), checked after each bucket.

import { hash32 } from './hash.js';
import { destActive } from './scheduler.js';
import type { SchedService } from './service.js';

const TAB_BITS = 10;
const TAB_SIZE = 1 << TAB_BITS;
/** max_size: 16 entries per bucket before the partial pass runs. */
export const LOCALITY_MAX_SIZE = TAB_SIZE * 16;
const CHECK_INTERVAL_MS = 60_000;
const TICKS_PER_FULL_CHECK = 30;
const IDLE_TIMEOUT_MS = 6 * 60_000;
export const DEFAULT_EXPIRATION_MS = 24 * 3600_000;

/**
 * lblc's "overloaded": the server has more active connections than its weight while some
 * server of the service is under half its weight in active connections.
 */
export function localityOverloaded(svc: SchedService, position: number): boolean {
  if (destActive(svc, position) <= svc.destWeight[position]!) return false;
  for (let p = 0; p < svc.destCount; p++) {
    if (destActive(svc, p) * 2 < svc.destWeight[p]!) return true;
  }
  return false;
}

export interface LocalityEntry {
  /** Last lookup, ms. */
  lastuse: number;
}

/** Entries by destination address (uint32), in insertion order, with the timed collection. */
export class LocalityTable<E extends LocalityEntry> {
  readonly entries = new Map<number, E>();
  /** Idle time after which the full pass deletes an entry, ms. */
  expirationMs = DEFAULT_EXPIRATION_MS;
  private counter = 1;
  /** Bucket where the last pass stopped. */
  private rover = 0;
  private nextTick = Number.NaN;

  /** Runs the collection ticks due by `now` (ms). */
  advance(now: number): void {
    if (Number.isNaN(this.nextTick)) this.nextTick = now + CHECK_INTERVAL_MS;
    while (now >= this.nextTick) {
      if (this.entries.size === 0) {
        // Nothing to delete: only the counter moves (1..30, wrapping to 1 after a full pass).
        const ticks = Math.floor((now - this.nextTick) / CHECK_INTERVAL_MS) + 1;
        this.counter = ((this.counter - 1 + ticks) % TICKS_PER_FULL_CHECK) + 1;
        this.nextTick += ticks * CHECK_INTERVAL_MS;
        return;
      }
      this.tick(this.nextTick);
      this.nextTick += CHECK_INTERVAL_MS;
    }
  }

  private tick(now: number): void {
    if (this.counter % TICKS_PER_FULL_CHECK === 0) {
      for (const [key, e] of this.entries) if (now >= e.lastuse + this.expirationMs) this.entries.delete(key);
      this.counter = 1;
      return;
    }
    const size = this.entries.size;
    if (size <= LOCALITY_MAX_SIZE) {
      this.counter++;
      return;
    }
    let goal = Math.min(Math.trunc(((size - LOCALITY_MAX_SIZE) * 4) / 3), LOCALITY_MAX_SIZE / 2);
    // Every entry of a visited bucket that is idle long enough goes, so group those by bucket.
    const idle = new Map<number, number[]>();
    for (const [key, e] of this.entries) {
      if (now < e.lastuse + IDLE_TIMEOUT_MS) continue;
      const bucket = hash32(key, TAB_BITS);
      const keys = idle.get(bucket);
      if (keys) keys.push(key);
      else idle.set(bucket, [key]);
    }
    let bucket = this.rover;
    for (let i = 0; i < TAB_SIZE; i++) {
      bucket = (bucket + 1) & (TAB_SIZE - 1);
      for (const key of idle.get(bucket) ?? []) {
        this.entries.delete(key);
        goal--;
      }
      if (goal <= 0) break;
    }
    this.rover = bucket;
  }
}
