// The weighted least-load rule shared by wlc, sed, nq, lblc, lblcr and twos
// (schedulers.md §0.3): loads are compared per unit of weight without dividing, D is less
// loaded than L iff load(L) * weight(D) > load(D) * weight(L), and only a strictly smaller
// load replaces the current choice, so ties keep the earlier server in list order.
//
// Exactness: a load is at most active*256 + inactive with both counts int32, so < 2^40,
// and a weight is an int32, so < 2^31. A product below 2^53 is exact as a double; a
// larger one (only with absurd connection counts) is compared through a split into
// 21-bit halves, where every partial product stays below 2^53.

import { destActive, destOverloaded } from './scheduler.js';
import type { SchedService } from './service.js';

const SPLIT = 2 ** 21;

/** load(L) * weight(D) > load(D) * weight(L), exactly: D is strictly less loaded per weight. */
export function lessLoaded(loadL: number, weightL: number, loadD: number, weightD: number): boolean {
  const left = loadL * weightD;
  const right = loadD * weightL;
  if (left <= Number.MAX_SAFE_INTEGER && right <= Number.MAX_SAFE_INTEGER) return left > right;
  return productGreater(loadL, weightD, loadD, weightL);
}

/** a1 * b1 > a2 * b2 for a < 2^42, b < 2^31: a = high * 2^21 + low, compare (high part + carry, low part). */
function productGreater(a1: number, b1: number, a2: number, b2: number): boolean {
  const low1 = (a1 % SPLIT) * b1;
  const low2 = (a2 % SPLIT) * b2;
  const high1 = Math.floor(a1 / SPLIT) * b1 + Math.floor(low1 / SPLIT);
  const high2 = Math.floor(a2 / SPLIT) * b2 + Math.floor(low2 / SPLIT);
  return high1 !== high2 ? high1 > high2 : low1 % SPLIT > low2 % SPLIT;
}

/**
 * A running weighted choice over candidates offered in list order: the first with weight
 * > 0 is taken, later ones (weight > 0) replace it only when strictly less loaded (or,
 * for `most`, strictly more loaded). `id` is whatever the caller offers: a list position,
 * or an index into an lblcr set. Reused by each scan, so a scan allocates nothing.
 */
export class WeightedChoice {
  id = -1;
  private load = 0;
  private weight = 0;
  constructor(private readonly most = false) {}

  reset(): this {
    this.id = -1;
    return this;
  }

  offer(id: number, load: number, weight: number): void {
    if (weight <= 0) return;
    if (this.id >= 0 && !(this.most ? lessLoaded(load, weight, this.load, this.weight) : lessLoaded(this.load, this.weight, load, weight))) return;
    this.id = id;
    this.load = load;
    this.weight = weight;
  }
}

/** Load of the server at `position`. */
export type DestLoad = (svc: SchedService, position: number) => number;

/** sed and nq: active + 1 (inactive connections ignored). */
export function sedLoad(svc: SchedService, position: number): number {
  return destActive(svc, position) + 1;
}

const scratch = new WeightedChoice();

/**
 * The wlc scan: over the servers that are not OVERLOAD, the weighted least `load`; ties
 * keep the first in list order. Position, or -1 when no such server has weight > 0.
 */
export function weightedLeast(svc: SchedService, load: DestLoad): number {
  const choice = scratch.reset();
  for (let p = 0; p < svc.destCount; p++) {
    if (!destOverloaded(svc, p)) choice.offer(p, load(svc, p), svc.destWeight[p]!);
  }
  return choice.id;
}
