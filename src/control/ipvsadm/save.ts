// `ipvsadm -S [-n]`: the table as -A/-a lines, sorted as listings are: "-A SVC -s SCHED
// [-p T [-M MASK]] [--pe NAME] [-o] [-b FLAGS]" and "-a SVC -r ADDR:PORT -m|-g|-i -w W
// [tunnel options]". Thresholds, counters, timeouts and daemons are not saved (ipvsadm's
// choice; saveIpvsadmRules in config/ipvsadm-rules.ts adds thresholds and --set for files).
// Without -n ports are written as service names. Reference: ipvsadm.md 8.1, 8.2, 9.

import type { RealServer, ServiceTable, VirtualService } from '../../config/model.js';
import { compareServers, compareServices, endpointText, METHOD_SWITCH } from './entries.js';
import { nonDefaultMask } from './format.js';
import { builtinNames } from './names.js';
import { bitsOfFlags, flagsText } from './sched-flags.js';
import type { NameService, ServiceAddress } from './types.js';

const SERVICE_SWITCH = { tcp: '-t', udp: '-u', sctp: '--sctp-service' } as const;
const TUN_CSUM_SWITCH = { nocsum: '--tun-nocsum', csum: '--tun-csum', remcsum: '--tun-remcsum' } as const;

/** "-t 10.0.0.1:80", "-f 5", "-f 5 -6". */
export function serviceSwitch(s: ServiceAddress, numeric: boolean, names: NameService): string {
  if (s.fwmark !== 0) return `-f ${s.fwmark}${s.family === 6 ? ' -6' : ''}`;
  return `${SERVICE_SWITCH[s.protocol]} ${endpointText(s.address, s.port, s.protocol, numeric, names)}`;
}

export function serviceRule(s: VirtualService, numeric: boolean, names: NameService): string {
  let line = `-A ${serviceSwitch(s, numeric, names)} -s ${s.scheduler}`;
  if (s.persistent > 0) {
    line += ` -p ${s.persistent}`;
    const mask = nonDefaultMask(s);
    if (mask !== undefined) line += ` -M ${mask}`;
  }
  if (s.pe !== '') line += ` --pe ${s.pe}`;
  if (s.onePacket) line += ' -o';
  const bits = bitsOfFlags(s.schedFlags);
  if (bits !== 0) line += ` -b ${flagsText(s.scheduler, bits)}`;
  return line;
}

export function serverRule(s: VirtualService, r: RealServer, numeric: boolean, names: NameService): string {
  let line = `-a ${serviceSwitch(s, numeric, names)} -r ${endpointText(r.address, r.port, s.protocol, numeric, names)} ${METHOD_SWITCH[r.method]} -w ${r.weight}`;
  if (r.method === 'tun') {
    const type = r.tunType ?? 'ipip';
    line += ` --tun-type ${type}`;
    if (type === 'gue') line += ` --tun-port ${r.tunPort ?? 0}`;
    if (type !== 'ipip') line += ` ${TUN_CSUM_SWITCH[r.tunCsum ?? 'nocsum']}`;
  }
  return line;
}

/** The table in sorted order, each service with its sorted servers. */
export function sortedTable(table: ServiceTable): { service: VirtualService; servers: RealServer[] }[] {
  return [...table.services].sort(compareServices).map((service) => ({ service, servers: [...service.servers].sort(compareServers) }));
}

/** What `ipvsadm -S` (numeric false) or `ipvsadm -S -n` prints for the table. */
export function formatSave(table: ServiceTable, numeric: boolean, names: NameService = builtinNames): string {
  return sortedTable(table)
    .map(({ service, servers }) => [serviceRule(service, numeric, names), ...servers.map((r) => serverRule(service, r, numeric, names))].map((l) => `${l}\n`).join(''))
    .join('');
}
