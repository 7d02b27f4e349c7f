// A parsed command applied to the configuration model as the kernel applies it
// (ip_vs_ctl.c via netlink), returning the new table or the text ipvsadm prints for the
// kernel's errno (libipvs ipvs_strerror, exit 255). Checks in the kernel's order: service
// lookup (ESRCH), then per operation EEXIST / ENOENT (unknown scheduler or engine) / ERANGE
// (lower threshold above upper) / EINVAL (real server address not unicast). -E and -e
// replace every option (the parser already reset unspecified ones to defaults); -Z changes
// no configuration (the daemon zeroes its counters); --set changes only non-zero timeouts.
// The sync daemon commands act on their own small state (applyDaemonCommand).
// Reference: ipvsadm.md 2, 3.3, 5; kernel ip_vs_genl_set_cmd, ip_vs_add_service,
// ip_vs_edit_service, ip_vs_add_dest, ip_vs_edit_dest, ip_vs_new_dest, start_sync_thread.

import { newServer, newService, sameServer, sameService, type RealServer, type ServiceTable, type VirtualService } from '../../config/model.js';
import { schedulerNames } from '../../schedulers/index.js';
import { addressBytes } from './cparse.js';
import type { ApplyFailure, ApplyResult, Command, ServerSpec, SyncDaemon } from './types.js';

/** Persistence engines the kernel has (ip_vs_pe_sip). */
const PERSISTENCE_ENGINES = ['sip'];

function kernelError(errno: string, message: string): ApplyFailure {
  return { ok: false, message, exitCode: 255, errno };
}

const NUMERICAL_RESULT_OUT_OF_RANGE = 'Numerical result out of range';
const INVALID_OPERATION = 'Invalid operation.  Possibly wrong module version, address not unicast, ...';

/** ip_vs_new_dest: IPv4 must be unicast or local (not 0/8, multicast, broadcast); IPv6 unicast and not link-local. */
function isUnicastServer(address: string): boolean {
  const { family, bytes } = addressBytes(address);
  if (family === 4) return bytes[0] !== 0 && !(bytes[0]! >= 224 && bytes[0]! <= 239) && !bytes.every((b) => b === 255);
  const zeroPrefix = bytes.slice(0, 10).every((b) => b === 0);
  if (zeroPrefix && bytes[10] === 0 && bytes[11] === 0) return !bytes.slice(12, 15).every((b) => b === 0) || bytes[15] !== 0; // :: is not unicast; ::1 and ::a.b.c.d are
  if (zeroPrefix && bytes[10] === 0xff && bytes[11] === 0xff) return false; // v4-mapped has no unicast type
  if (bytes[0] === 0xff) return false;
  // Link-local is refused unless it is one of the director's own addresses, which a pure model cannot know.
  return !(bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80);
}

function schedulerExists(name: string, pe: string): boolean {
  return (name === 'none' || schedulerNames().includes(name)) && (pe === '' || PERSISTENCE_ENGINES.includes(pe));
}

/** The real server the command describes, keeping what the model holds beyond ipvsadm's options (origin, health). */
function serverFrom(spec: ServerSpec, previous?: RealServer): RealServer {
  const { family: _family, ...fields } = spec;
  const base: RealServer = { ...newServer(spec.address, spec.port), ...previous };
  delete base.tunType;
  delete base.tunPort;
  delete base.tunCsum;
  return { ...base, ...fields };
}

function replaceService(table: ServiceTable, index: number, service: VirtualService | null): ServiceTable {
  const services = [...table.services];
  if (service) services[index] = service;
  else services.splice(index, 1);
  return { ...table, services };
}

/** Apply one command to a table. Commands that change no configuration return the table as is. */
export function applyCommand(table: ServiceTable, command: Command): ApplyResult {
  switch (command.kind) {
    case 'flush':
      return { ok: true, table: { ...table, services: [] } };
    case 'set': {
      const t = command.timeouts;
      const timeouts = { tcp: t.tcp || table.timeouts.tcp, tcpfin: t.tcpfin || table.timeouts.tcpfin, udp: t.udp || table.timeouts.udp };
      return { ok: true, table: { ...table, timeouts } };
    }
    case 'add-service':
    case 'edit-service':
    case 'delete-service':
    case 'zero':
      return applyServiceCommand(table, command);
    case 'add-server':
    case 'edit-server':
    case 'delete-server':
      return applyServerCommand(table, command);
    default:
      return { ok: true, table };
  }
}

function applyServiceCommand(table: ServiceTable, command: Extract<Command, { kind: 'add-service' | 'edit-service' | 'delete-service' | 'zero' }>): ApplyResult {
  if (command.kind === 'zero' && !command.service) return { ok: true, table };
  const index = table.services.findIndex((s) => sameService(s, command.service!));
  const existing = table.services[index];
  if (command.kind === 'add-service') {
    if (existing) return kernelError('EEXIST', 'Service already exists');
  } else if (!existing) return kernelError('ESRCH', 'No such service');
  switch (command.kind) {
    case 'zero':
      return { ok: true, table };
    case 'delete-service':
      return { ok: true, table: replaceService(table, index, null) };
    default: {
      const o = command.options;
      if (!schedulerExists(o.scheduler, o.pe)) return kernelError('ENOENT', 'Scheduler or persistence engine not found');
      const options = { scheduler: o.scheduler, persistent: o.persistent, netmask: o.netmask, schedFlags: [...o.schedFlags], onePacket: o.onePacket, pe: o.pe };
      if (existing) return { ok: true, table: replaceService(table, index, { ...existing, ...options }) };
      return { ok: true, table: { ...table, services: [...table.services, { ...newService(command.service), ...options }] } };
    }
  }
}

function applyServerCommand(table: ServiceTable, command: Extract<Command, { kind: 'add-server' | 'edit-server' | 'delete-server' }>): ApplyResult {
  const index = table.services.findIndex((s) => sameService(s, command.service));
  const service = table.services[index];
  if (!service) return kernelError('ESRCH', 'Service not defined');
  const at = service.servers.findIndex((r) => sameServer(r, command.server));
  const servers = [...service.servers];
  if (command.kind === 'delete-server') {
    if (at < 0) return kernelError('ENOENT', 'No such destination');
    servers.splice(at, 1);
  } else {
    const spec = command.server;
    // The kernel refuses mixed families except for tunnels (ipvsadm checks that before us).
    if (spec.family !== service.family && spec.method !== 'tun') return kernelError('EINVAL', INVALID_OPERATION);
    if (spec.lower > spec.upper) return kernelError('ERANGE', NUMERICAL_RESULT_OUT_OF_RANGE);
    if (command.kind === 'add-server') {
      if (at >= 0) return kernelError('EEXIST', 'Destination already exists');
      if (!isUnicastServer(spec.address)) return kernelError('EINVAL', INVALID_OPERATION);
      servers.push(serverFrom(spec));
    } else {
      if (at < 0) return kernelError('ENOENT', 'No such destination');
      servers[at] = serverFrom(spec, servers[at]);
    }
  }
  return { ok: true, table: replaceService(table, index, { ...service, servers }) };
}

/**
 * --start-daemon / --stop-daemon against the running sync daemons (master and backup, at most
 * one each). The kernel fills in what was not given: group 224.0.0.81, port 8848, ttl 1 and
 * a maxlen of 1500 minus IP and UDP headers (an interface MTU above 1500 would raise a
 * backup's; the model does not know MTUs).
 */
export function applyDaemonCommand(daemons: readonly SyncDaemon[], command: Command): { ok: true; daemons: SyncDaemon[] } | ApplyFailure {
  if (command.kind === 'start-daemon') {
    const d = command.daemon;
    if (daemons.some((x) => x.state === d.state)) return kernelError('EEXIST', 'Daemon has already run');
    const group = d.group || '224.0.0.81';
    const headers = group.includes(':') ? 40 + 8 : 20 + 8;
    const started: SyncDaemon = { state: d.state, mcastInterface: d.mcastInterface, syncid: d.syncid, maxlen: d.maxlen || 1500 - headers, group, port: d.port || 8848, ttl: d.ttl || 1 };
    // The kernel lists the master before the backup.
    return { ok: true, daemons: [...daemons, started].sort((a, b) => (a.state === b.state ? 0 : a.state === 'master' ? -1 : 1)) };
  }
  if (command.kind === 'stop-daemon') {
    if (!daemons.some((x) => x.state === command.state)) return kernelError('ESRCH', 'No daemon is running');
    return { ok: true, daemons: daemons.filter((x) => x.state !== command.state) };
  }
  return { ok: true, daemons: [...daemons] };
}
