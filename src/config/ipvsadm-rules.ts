// The ipvsadm-rules dialect: a file of ipvsadm command lines as `ipvsadm -S` writes and
// `ipvsadm -R` (via the ipvsadm-restore script) reads, e.g. /etc/sysconfig/ipvsadm.
// Loading runs each line through uvsadm's parser and applies it to an empty model, so a
// line means exactly what it means to ipvsadm; lines starting with '#' are comments (as
// ipvsadm-restore drops them), a word "ipvsadm" is ignored, and only configuration
// commands belong (-A -E -D -a -e -d -C -Z --set). Errors name file:line, ipvsadm's message
// and the argument at fault. Saving writes `ipvsadm -S -n` lines plus what -S leaves out
// but a file must keep: thresholds (-x/-y) on -a lines and a --set line for non-default
// timeouts; all of it is valid `ipvsadm -R` input. Reference: ipvsadm.md 8.

import { UvsError } from '../errors.js';
import { applyCommand } from '../control/ipvsadm/apply.js';
import { parseArgs } from '../control/ipvsadm/args.js';
import { builtinNames } from '../control/ipvsadm/names.js';
import { serverRule, serviceRule, serviceSwitch, sortedTable } from '../control/ipvsadm/save.js';
import type { Command, NameService } from '../control/ipvsadm/types.js';
import { emptyTable, sameServer, sameService, type ServiceTable } from './model.js';

const RULE_KINDS = new Set<Command['kind']>(['add-service', 'edit-service', 'delete-service', 'add-server', 'edit-server', 'delete-server', 'flush', 'set', 'zero']);

/** "-t 10.0.0.1:80" / "-f 5 -r 10.0.0.2:0": what a kernel error is about. */
function subjectOf(command: Command): string {
  if (!('service' in command) || !command.service) return command.kind;
  const service = serviceSwitch(command.service, true, builtinNames);
  if (!('server' in command)) return service;
  const host = command.server.family === 6 ? `[${command.server.address}]` : command.server.address;
  return `${service} -r ${host}:${command.server.port}`;
}

/** Mark what a line added with where it was defined. */
function withOrigin(table: ServiceTable, command: Command, origin: string): ServiceTable {
  if (command.kind !== 'add-service' && command.kind !== 'add-server') return table;
  const services = table.services.map((s) => {
    if (!sameService(s, command.service)) return s;
    if (!('server' in command)) return { ...s, origin };
    const added = command.server;
    return { ...s, servers: s.servers.map((r) => (sameServer(r, added) ? { ...r, origin } : r)) };
  });
  return { ...table, services };
}

export function loadIpvsadmRules(text: string, file: string, names: NameService = builtinNames): ServiceTable {
  let table = emptyTable();
  text.split('\n').forEach((raw, k) => {
    const where = `${file}:${k + 1}`;
    if (/^\s*#/.test(raw)) return;
    const argv = raw.split(/[ \t\r]+/).filter((w) => w !== '' && w !== 'ipvsadm');
    if (argv.length === 0) return;
    const parsed = parseArgs(argv, { names, readingStdin: true });
    if (!parsed.ok) {
      const about = parsed.argument !== undefined ? ` (${parsed.argument})` : '';
      throw new UvsError('UVS_IPVSADM_RULES', `${where}: ${parsed.message.trim()}${about}`);
    }
    const command = parsed.command;
    if (!RULE_KINDS.has(command.kind))
      throw new UvsError('UVS_IPVSADM_RULES', `${where}: '${argv.join(' ')}' is not a rule (a rules file holds -A -E -D -a -e -d -C -Z and --set lines)`);
    const applied = applyCommand(table, command);
    if (!applied.ok) throw new UvsError('UVS_IPVSADM_RULES', `${where}: ${applied.message} (${subjectOf(command)})`);
    table = withOrigin(applied.table, command, where);
  });
  return table;
}

export function saveIpvsadmRules(table: ServiceTable): string {
  const lines: string[] = [];
  const t = table.timeouts;
  if (t.tcp || t.tcpfin || t.udp) lines.push(`--set ${t.tcp} ${t.tcpfin} ${t.udp}`);
  for (const { service, servers } of sortedTable(table)) {
    lines.push(serviceRule(service, true, builtinNames));
    for (const r of servers) lines.push(serverRule(service, r, true, builtinNames) + (r.upper ? ` -x ${r.upper}` : '') + (r.lower ? ` -y ${r.lower}` : ''));
  }
  return lines.map((l) => `${l}\n`).join('');
}
