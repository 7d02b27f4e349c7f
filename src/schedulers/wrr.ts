// wrr — Weighted Round-Robin scheduling. Reference: net/netfilter/ipvs/ip_vs_wrr.c;
// schedulers.md §2.
// State: a cursor (list position, -1 = the head), di = gcd of the positive weights,
// mw = max weight - (di - 1), and the current weight cw. A pick scans on from the cursor for
// a non-OVERLOAD server with weight >= cw; each wrap to the head lowers cw by di, and
// below 1 it restarts at mw. The "- (di - 1)" makes the last pass of a cycle run at cw = 1,
// so a server whose weight is not a multiple of di is still reached. One pick looks at
// each server at most once at cw <= di after a restart, then gives up. Every add, edit and
// removal resets the cursor to the head and keeps cw where it can: that is why servers
// added one by one start with the cw = 1 pass (every usable server in list order).

import { destOverloaded, type Scheduler } from './scheduler.js';
import type { SchedService } from './service.js';

interface WrrState {
  cursor: number;
  /** gcd of the weights > 0 (1 when none). */
  di: number;
  /** max weight - (di - 1); 0 when every weight is 0. */
  mw: number;
  cw: number;
}

function state(svc: SchedService): WrrState {
  return svc.data as WrrState;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** gcd of the first `n` weights that are > 0; 0 when none is. (mh uses it on last weights.) */
export function weightGcd(weights: Int32Array, n: number): number {
  let g = 0;
  for (let p = 0; p < n; p++) {
    const w = weights[p]!;
    if (w > 0) g = g > 0 ? gcd(w, g) : w;
  }
  return g;
}

/** Largest of the first `n` weights (0 when none). */
export function maxWeight(weights: Int32Array, n: number): number {
  let max = 0;
  for (let p = 0; p < n; p++) if (weights[p]! > max) max = weights[p]!;
  return max;
}

/** Recomputes di and mw from the current weights. */
function measure(svc: SchedService, s: WrrState): void {
  s.di = weightGcd(svc.destWeight, svc.destCount) || 1;
  s.mw = maxWeight(svc.destWeight, svc.destCount) - (s.di - 1);
}

/** The server list changed: back to the head; keep cw within the new range. */
function destChanged(svc: SchedService): void {
  const s = state(svc);
  s.cursor = -1;
  measure(svc, s);
  if (s.cw > s.mw || s.cw === 0) s.cw = s.mw;
  else if (s.di > 1) s.cw = Math.trunc(s.cw / s.di) * s.di + 1;
}

export const wrr: Scheduler = {
  name: 'wrr',
  init(svc) {
    const s: WrrState = { cursor: -1, di: 1, mw: 0, cw: 0 };
    measure(svc, s);
    s.cw = s.mw;
    svc.data = s;
  },
  addDest: destChanged,
  updateDest: destChanged,
  removeDest: destChanged,
  schedule(svc) {
    const s = state(svc);
    if (s.mw === 0) return -1;
    const n = svc.destCount;
    const last = s.cursor;
    // After a restart, the final cw <= di pass stops at `last` (each server seen once).
    let stop = -1;
    let lastPass = false;
    let restarted = false;
    for (let p = last; ; p = -1) {
      for (p++; p < n; p++) {
        if (!destOverloaded(svc, p) && svc.destWeight[p]! >= s.cw) {
          s.cursor = p;
          return p;
        }
        if (p === stop) {
          s.cursor = p;
          return -1;
        }
      }
      s.cw -= s.di;
      if (s.cw <= 0) {
        s.cw = s.mw;
        // A full pass at cw <= di already happened in this pick: everything is OVERLOAD.
        if (lastPass || last === -1) {
          s.cursor = -1;
          return -1;
        }
        restarted = true;
      }
      lastPass = s.cw <= s.di;
      if (lastPass && restarted) stop = last;
    }
  },
};
