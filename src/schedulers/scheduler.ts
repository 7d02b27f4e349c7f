// The scheduler interface, after the kernel's struct ip_vs_scheduler: one module per
// algorithm, registered by name, pure (no I/O) so the datapath and the simulator run the
// same code. A scheduler sees one service: its real servers in IPVS list order (newest
// first), their weights and flags, and the global active/inactive counts, and returns the
// position of the chosen server, or -1 for none.

import type { DestCounters } from '../tables/connection-table.js';

/** Real server flag: over its upper connection threshold (IP_VS_DEST_F_OVERLOAD). */
export const DEST_F_OVERLOAD = 1;
/** Real server flag: available (IP_VS_DEST_F_AVAILABLE); cleared when removed. */
export const DEST_F_AVAILABLE = 2;

export interface SchedService {
  /** Number of real servers. */
  destCount: number;
  /** By position: weight (0 = quiesced: no new connections). */
  destWeight: Int32Array;
  /** By position: DEST_F_* bits. */
  destFlags: Uint8Array;
  /** By position: the real server's stats slot (index into `counters`). */
  destSlot: Int32Array;
  /** Global active/inactive connection counts by stats slot. */
  counters: DestCounters;
  /** Scheduler-private state (e.g. rr's last position), owned by the scheduler. */
  state: Int32Array;
}

export interface Scheduler {
  readonly name: string;
  /** Called when the service is created or its server list changes: reset `svc.state`. */
  init(svc: SchedService): void;
  /** Picks a real server for a new connection from caddr:cport; returns its position or -1. */
  schedule(svc: SchedService, caddr: number, cport: number): number;
}

/** Usable for new connections: positive weight and not overloaded. */
export function destUsable(svc: SchedService, position: number): boolean {
  return svc.destWeight[position]! > 0 && (svc.destFlags[position]! & DEST_F_OVERLOAD) === 0;
}
