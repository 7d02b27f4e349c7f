// One virtual service as its scheduler sees it: the real-server list in IPVS order (a new
// server goes to the head, so the list is newest first; schedulers.md §0.1), per-position
// weight, last non-zero weight (mh), stats slot, address and port, plus the shared counters
// and the scheduler flags. Changes go through addDest / editDest / removeDest, which call
// the scheduler's hooks exactly where ip_vs_ctl.c does, so scheduler state (rr's cursor,
// wrr's current weight, sh/dh/mh tables) evolves as in the kernel. The datapath keeps one
// per service across service-table generations; the simulator drives it directly.

import type { DestCounters } from '../tables/dest-counters.js';
import type { SchedFlow, Scheduler } from './scheduler.js';

export interface DestSpec {
  /** Stats slot: the real server's stable identity and index into the counters. */
  slot: number;
  /** Address (uint32) and port. */
  address: number;
  port: number;
  weight: number;
}

export class SchedService {
  scheduler: Scheduler;
  readonly counters: DestCounters;
  /** Scheduler flags (SCHED_F_*). */
  flags: number;
  /** Random source in [0, 1) (twos); injectable for tests and the simulator. */
  random: () => number;
  destCount = 0;
  destWeight = new Int32Array(8);
  /** The last non-zero weight ever set (set on add even if 0; kept when the weight goes to 0). */
  destLastWeight = new Int32Array(8);
  destSlot = new Int32Array(8);
  destAddr = new Uint32Array(8);
  destPort = new Uint16Array(8);
  /** Scheduler-private state, created by Scheduler.init. */
  data: unknown = undefined;

  /** Picks a real server for a new flow: its position, or -1 for none. */
  schedule(flow: SchedFlow): number {
    return this.scheduler.schedule(this, flow);
  }

  /** Creates the service with `scheduler`, then adds `dests` oldest first (given in list order: newest first), as ipvsadm would. */
  constructor(scheduler: Scheduler, counters: DestCounters, options: { flags?: number; random?: () => number; dests?: readonly DestSpec[] } = {}) {
    this.scheduler = scheduler;
    this.counters = counters;
    this.flags = options.flags ?? 0;
    this.random = options.random ?? Math.random;
    scheduler.init(this);
    const dests = options.dests ?? [];
    for (let i = dests.length - 1; i >= 0; i--) this.addDest(dests[i]!);
  }

  /** Position of the real server with stats slot `slot`, or -1 (removed). */
  positionOf(slot: number): number {
    for (let p = 0; p < this.destCount; p++) if (this.destSlot[p] === slot) return p;
    return -1;
  }

  /** ipvsadm -a: inserts at the head of the list. Returns the position (0). */
  addDest(d: DestSpec): number {
    if (this.destCount === this.destWeight.length) this.grow();
    const n = this.destCount;
    this.destWeight.copyWithin(1, 0, n);
    this.destLastWeight.copyWithin(1, 0, n);
    this.destSlot.copyWithin(1, 0, n);
    this.destAddr.copyWithin(1, 0, n);
    this.destPort.copyWithin(1, 0, n);
    this.destWeight[0] = d.weight;
    this.destLastWeight[0] = d.weight;
    this.destSlot[0] = d.slot;
    this.destAddr[0] = d.address;
    this.destPort[0] = d.port;
    this.destCount = n + 1;
    this.scheduler.addDest?.(this, 0);
    return 0;
  }

  /** ipvsadm -e: new weight for the server at `position` (it keeps its place). */
  editDest(position: number, weight: number): void {
    this.destWeight[position] = weight;
    if (weight > 0) this.destLastWeight[position] = weight;
    this.scheduler.updateDest?.(this, position);
  }

  /** ipvsadm -d: removes the server at `position`. */
  removeDest(position: number): void {
    const slot = this.destSlot[position]!;
    const n = this.destCount;
    this.destWeight.copyWithin(position, position + 1, n);
    this.destLastWeight.copyWithin(position, position + 1, n);
    this.destSlot.copyWithin(position, position + 1, n);
    this.destAddr.copyWithin(position, position + 1, n);
    this.destPort.copyWithin(position, position + 1, n);
    this.destCount = n - 1;
    this.scheduler.removeDest?.(this, position, slot);
  }

  /** ipvsadm -E -s: another scheduler for the service. */
  setScheduler(scheduler: Scheduler): void {
    this.scheduler.done?.(this);
    this.data = undefined;
    this.scheduler = scheduler;
    scheduler.init(this);
  }

  private grow(): void {
    const cap = this.destWeight.length * 2;
    const w = new Int32Array(cap);
    w.set(this.destWeight);
    this.destWeight = w;
    const lw = new Int32Array(cap);
    lw.set(this.destLastWeight);
    this.destLastWeight = lw;
    const s = new Int32Array(cap);
    s.set(this.destSlot);
    this.destSlot = s;
    const a = new Uint32Array(cap);
    a.set(this.destAddr);
    this.destAddr = a;
    const p = new Uint16Array(cap);
    p.set(this.destPort);
    this.destPort = p;
  }
}
