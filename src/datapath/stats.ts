// Datapath statistics shared between workers and the control thread. Two kinds:
//  - connection counts per real server (active/inactive): schedulers of every worker read
//    them, so they are single Int32 cells changed with Atomics (connection-table.ts);
//  - traffic counters: each worker writes only its own region (plain stores, no contention)
//    and readers sum the regions. Float64 cells hold exact integers up to 2^53.

import { REASON_NAMES } from '../packet/reasons.js';
import { LINK } from './link.js';
import { destCountersBytes, destCountersOver, type DestCounters } from '../tables/dest-counters.js';

/** Engine counters, per worker. */
export const ENGINE = {
  rxFrames: 0,
  malformed: 1,
  truncatedByRing: 2,
  arpSeen: 3,
  notIPv4: 4,
  notForUs: 5,
  /** Not for a service and not a reply of a known connection: left to the kernel. */
  passed: 6,
  newConnections: 7,
  /** A new flow found no usable real server (all weight 0 / overloaded / none). */
  noDest: 8,
  /** The connection table was full. */
  tableFull: 9,
  /** A TCP segment without SYN and without a connection (IPVS passes it to the local stack). */
  noConnection: 10,
  ttlExpired: 11,
  noRoute: 12,
  /** Larger than the output MTU (fragmentation / frag-needed pending). */
  tooBig: 13,
  tunnelled: 14,
  /** GSO super-frames that had to be segmented in software (tunnelling). */
  segmented: 15,
  /** A GSO frame that could not be forwarded. */
  gsoDropped: 16,
  icmpTranslated: 17,
  /** ICMP errors not about a known connection. */
  icmpPassed: 18,
  /** Fragments (the fanout reassembles; any that get through are counted here). */
  fragments: 19,
  unknownProtocol: 20,
  /** Frames to a VIP whose port/protocol has no service. */
  noService: 21,
  snapshotsApplied: 22,
  icmpSent: 23,
  fragmented: 24,
  /** Gauges copied from this worker's connection table after each batch. */
  connections: 25,
  expired: 26,
  /** Entries dropped by the drop_entry defense or to make room: embryonic (SYN_RECV/SYNACK), idle. */
  evictedEmbryonic: 27,
  evictedIdle: 28,
  /** A persistent service's new flow found the template table full. */
  templatesFull: 29,
} as const;
export const ENGINE_COUNT = Object.keys(ENGINE).length;
export const LINK_COUNT = Object.keys(LINK).length;
export const REASON_COUNT = REASON_NAMES.length;

/** Per real server (by stats slot): connections, packets and bytes in and out. */
export const DEST = { conns: 0, inPkts: 1, outPkts: 2, inBytes: 3, outBytes: 4 } as const;
export const DEST_FIELDS = 5;

/** Shared buffers, created by the control thread and passed to every worker. */
export interface SharedStatsBuffers {
  workers: number;
  maxDests: number;
  /** Per real server: connection counts, OVERLOAD and thresholds (dest-counters.ts). */
  connCounts: SharedArrayBuffer;
  /** Float64, per worker: ENGINE, LINK, reasons, then DEST_FIELDS per slot. */
  traffic: SharedArrayBuffer;
}

function regionSize(maxDests: number): number {
  return ENGINE_COUNT + LINK_COUNT + REASON_COUNT + maxDests * DEST_FIELDS;
}

export function createSharedStats(workers: number, maxDests: number): SharedStatsBuffers {
  return {
    workers,
    maxDests,
    connCounts: new SharedArrayBuffer(destCountersBytes(maxDests)),
    traffic: new SharedArrayBuffer(workers * regionSize(maxDests) * 8),
  };
}

/** One worker's views (or, for worker = -1, no traffic region: readers use sum()). */
export class StatsViews {
  /** Global per-real-server counts (shared by every worker). */
  readonly counters: DestCounters;
  readonly active: Int32Array;
  readonly inactive: Int32Array;
  readonly engine: Float64Array;
  readonly link: Float64Array;
  readonly reasons: Float64Array;
  readonly dest: Float64Array;
  private readonly buffers: SharedStatsBuffers;

  constructor(buffers: SharedStatsBuffers, worker: number) {
    this.buffers = buffers;
    const n = buffers.maxDests;
    this.counters = destCountersOver(buffers.connCounts, n);
    this.active = this.counters.active;
    this.inactive = this.counters.inactive;
    const base = Math.max(0, worker) * regionSize(n) * 8;
    this.engine = new Float64Array(buffers.traffic, base, ENGINE_COUNT);
    this.link = new Float64Array(buffers.traffic, base + ENGINE_COUNT * 8, LINK_COUNT);
    this.reasons = new Float64Array(buffers.traffic, base + (ENGINE_COUNT + LINK_COUNT) * 8, REASON_COUNT);
    this.dest = new Float64Array(buffers.traffic, base + (ENGINE_COUNT + LINK_COUNT + REASON_COUNT) * 8, n * DEST_FIELDS);
  }

  /** Totals over all workers: counters by name, drops by reason, per-slot traffic. */
  sum(): { engine: Record<string, number>; link: Record<string, number>; reasons: Record<string, number>; dests: Map<number, Record<string, number>> } {
    const b = this.buffers;
    const views = Array.from({ length: b.workers }, (_, w) => new StatsViews(b, w));
    const engine: Record<string, number> = {};
    for (const [k, i] of Object.entries(ENGINE)) engine[k] = views.reduce((s, v) => s + v.engine[i]!, 0);
    const link: Record<string, number> = {};
    for (const [k, i] of Object.entries(LINK)) link[k] = views.reduce((s, v) => s + v.link[i]!, 0);
    const reasons: Record<string, number> = {};
    for (let r = 0; r < REASON_COUNT; r++) {
      const n = views.reduce((s, v) => s + v.reasons[r]!, 0);
      if (n > 0) reasons[REASON_NAMES[r] ?? String(r)] = n;
    }
    const dests = new Map<number, Record<string, number>>();
    for (let slot = 0; slot < b.maxDests; slot++) {
      const rec: Record<string, number> = { active: this.active[slot]!, inactive: this.inactive[slot]!, persist: this.counters.persist[slot]! };
      let any = rec.active! !== 0 || rec.inactive! !== 0 || rec.persist! !== 0;
      for (const [k, f] of Object.entries(DEST)) {
        rec[k] = views.reduce((s, v) => s + v.dest[slot * DEST_FIELDS + f]!, 0);
        if (rec[k]! !== 0) any = true;
      }
      if (any) dests.set(slot, rec);
    }
    return { engine, link, reasons, dests };
  }
}
