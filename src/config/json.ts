// The older JSON forward config (src/datapath/config.ts, `uvs forward --config`) read into
// the model, so uvsd takes it like any other dialect. What the forward config holds besides
// the service table (mark rules, sysctls, workers, connection-table size) is datapath
// tuning uvsd takes from its own options: reported as warnings, not loaded.

import { parseForwardConfig } from '../datapath/config.js';
import { SCHED_F_FALLBACK, SCHED_F_PORT, SCHED_F_SCHED3 } from '../schedulers/index.js';
import type { ServiceTable } from './model.js';
import { emptyTable, newServer, newService } from './model.js';

/** -b names for the flag bits, as ipvsadm lists them for the scheduler. */
function schedFlagNames(bits: number, scheduler: string): string[] {
  const prefix = scheduler === 'sh' || scheduler === 'mh' ? scheduler : undefined;
  const names: string[] = [];
  if (bits & SCHED_F_FALLBACK) names.push(prefix ? `${prefix}-fallback` : 'flag-1');
  if (bits & SCHED_F_PORT) names.push(prefix ? `${prefix}-port` : 'flag-2');
  if (bits & SCHED_F_SCHED3) names.push('flag-3');
  return names;
}

export function loadForwardJson(text: string, file: string): { table: ServiceTable; warnings: string[] } {
  const cfg = parseForwardConfig(text, file);
  const raw = JSON.parse(text) as Record<string, unknown>;
  const table = emptyTable();
  cfg.services.forEach((s, i) => {
    const svc = newService(s.fwmark !== 0 ? { protocol: 'tcp', address: '', port: 0, fwmark: s.fwmark, family: 4 } : { protocol: s.protocol, address: s.address, port: s.port, fwmark: 0, family: 4 });
    svc.scheduler = s.scheduler;
    svc.schedFlags = schedFlagNames(s.schedFlags, s.scheduler);
    svc.persistent = s.persistent;
    if (s.persistent > 0) svc.netmask = s.netmask;
    svc.origin = `${file}: $.services[${i}]`;
    svc.servers = s.servers.map((d, j) => ({ ...newServer(d.address, d.port), method: d.method, weight: d.weight, upper: d.upper, lower: d.lower, origin: `${file}: $.services[${i}].servers[${j}]` }));
    table.services.push(svc);
  });
  table.timeouts = { ...cfg.timeouts };
  table.director.interfaces = [...cfg.interfaces];
  table.director.owned = [...cfg.owned];
  const outside = ['markRules', 'sysctl', 'workers', 'connections'].filter((k) => raw[k] !== undefined);
  const warnings = outside.map((k) => `${file}: $.${k}: datapath tuning, not part of the service table: give it to uvsd, not loaded here`);
  return { table, warnings };
}
