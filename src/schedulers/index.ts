// Scheduler registry: name -> module, as ipvsadm's -s takes them.
import { UvsError } from '../errors.js';
import { rr } from './rr.js';
import type { Scheduler } from './scheduler.js';

export * from './scheduler.js';
export { SchedService, type DestSpec } from './service.js';

const registry = new Map<string, Scheduler>([[rr.name, rr]]);

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
