// The scheduler interface, after the kernel's struct ip_vs_scheduler (ip_vs_sched.c): one
// module per algorithm, registered by name, pure (no I/O) so the datapath and the
// simulator run the same code. A scheduler sees one service (service.ts): its real servers
// in IPVS list order (newest first), their weights, the global active/inactive counts and
// OVERLOAD flags, and the new flow; it returns the position of the chosen real server, or
// -1 for none. Hooks mirror init_service / done_service / add_dest / upd_dest / del_dest.

import type { SchedService } from './service.js';

/** Scheduler flags (ipvsadm -b): IP_VS_SVC_F_SCHED1..3. */
/** sh-fallback / mh-fallback: look further when the hashed server is unavailable. */
export const SCHED_F_FALLBACK = 1;
/** sh-port / mh-port: hash the client port too. */
export const SCHED_F_PORT = 2;
export const SCHED_F_SCHED3 = 4;

/** The new flow a scheduler places. One reused instance per caller: no allocation per flow. */
export class SchedFlow {
  /** IP protocol (6, 17, 132). */
  protocol = 0;
  /** Client address (uint32) and port. */
  caddr = 0;
  cport = 0;
  /** The packet's destination address and port (lblc, lblcr and dh hash the address). */
  vaddr = 0;
  vport = 0;
  /** Clock, ms (lblc/lblcr entry ages). */
  now = 0;
}

export interface Scheduler {
  readonly name: string;
  /** The service got this scheduler (created, or -E changed it): build state from the current list. */
  init(svc: SchedService): void;
  /** The service drops this scheduler (deleted, or -E changed it). */
  done?(svc: SchedService): void;
  /** A real server was inserted at `position` (IPVS: the head, 0). */
  addDest?(svc: SchedService, position: number): void;
  /** The real server at `position` changed weight. */
  updateDest?(svc: SchedService, position: number): void;
  /** The real server that was at `position` (stats slot `slot`) was removed. */
  removeDest?(svc: SchedService, position: number, slot: number): void;
  /** Picks a real server for a new flow; returns its position or -1. */
  schedule(svc: SchedService, flow: SchedFlow): number;
}

/** Usable for new connections: positive weight and not OVERLOAD. */
export function destUsable(svc: SchedService, position: number): boolean {
  return svc.destWeight[position]! > 0 && svc.counters.overload[svc.destSlot[position]!] === 0;
}

/** OVERLOAD flag of the real server at `position`. */
export function destOverloaded(svc: SchedService, position: number): boolean {
  return svc.counters.overload[svc.destSlot[position]!] !== 0;
}

/** IPVS ip_vs_dest_conn_overhead: active*256 + inactive (schedulers.md §0.3). */
export function destOverhead(svc: SchedService, position: number): number {
  const slot = svc.destSlot[position]!;
  return svc.counters.active[slot]! * 256 + svc.counters.inactive[slot]!;
}

/** Active connections of the real server at `position`. */
export function destActive(svc: SchedService, position: number): number {
  return svc.counters.active[svc.destSlot[position]!]!;
}
