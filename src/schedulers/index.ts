// Scheduler registry: name -> module, as ipvsadm's -s takes them.
import { UvsError } from '../errors.js';
import { dh } from './dh.js';
import { fo } from './fo.js';
import { lblc } from './lblc.js';
import { lblcr } from './lblcr.js';
import { lc } from './lc.js';
import { mh } from './mh.js';
import { nq } from './nq.js';
import { ovf } from './ovf.js';
import { rr } from './rr.js';
import type { Scheduler } from './scheduler.js';
import { sed } from './sed.js';
import { sh } from './sh.js';
import { twos } from './twos.js';
import { wlc } from './wlc.js';
import { wrr } from './wrr.js';

export * from './scheduler.js';
export { SchedService, type DestSpec } from './service.js';
export { setLblcExpiration } from './lblc.js';
export { setLblcrExpiration } from './lblcr.js';

/** ipvsadm's order (ipvsadm(8)). */
const registry = new Map<string, Scheduler>([rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos].map((s) => [s.name, s]));

export function registerScheduler(s: Scheduler): void {
  registry.set(s.name, s);
}

export function getScheduler(name: string): Scheduler {
  const s = registry.get(name);
  if (!s) throw new UvsError('UVS_UNKNOWN_SCHEDULER', `unknown scheduler '${name}' (have: ${[...registry.keys()].join(', ')})`);
  return s;
}

export function schedulerNames(): string[] {
  return [...registry.keys()];
}
