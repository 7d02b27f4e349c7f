// The connection listing as data (what `ipvsadm -L -c` prints, from ip_vs_conn.c's
// /proc/net/ip_vs_conn seq file): rows read straight from a worker's connection-table
// buffer and from the shared template buffer, on any thread. Only the buffers are needed
// (capacity is in their header), nothing is locked: the owner keeps writing while we read,
// so a row being reused meanwhile may come out mixed — a listing is a glance, as the
// kernel's (which walks the table under RCU) is too.
//
// Templates print with client port 0 and real port 0 where IPVS does; fwmark templates
// (protocol 'IP') carry the mark instead of a VIP and show virtual as 'FWM <mark>'.

import { ip4ToString } from '../packet/addr.js';
import { CONNECTION_FIELDS } from './connection-table.js';
import { Slab } from './slab.js';
import { STATE_NAMES } from './tcp-states.js';
import { TEMPLATE_FIELDS, T_ASSURED, T_REKEYED } from './template-table.js';

export interface ConnectionRow {
  protocol: 'TCP' | 'UDP' | 'IP';
  /** 'a.b.c.d:port' (templates: the masked client network, port 0). */
  client: string;
  /** 'a.b.c.d:port', or 'FWM <mark>' for a fwmark template. */
  virtual: string;
  real: string;
  /** TCP state name, 'UDP', or 'NONE' / 'ASSURED' for templates. */
  state: string;
  /** Time left until expiry, ms (0 when already due). */
  expiresInMs: number;
  template: boolean;
}

const PROTOCOLS: Record<number, ConnectionRow['protocol']> = { 0: 'IP', 6: 'TCP', 17: 'UDP' };

const endpoint = (addr: number, port: number): string => `${ip4ToString(addr)}:${port}`;

/** Rows of a connection table's buffer (ConnectionTable.buffer, a SharedArrayBuffer when read from another thread). */
export function listConnections(buffer: SharedArrayBuffer | ArrayBuffer, nowMs: number): ConnectionRow[] {
  const s = new Slab(buffer, CONNECTION_FIELDS);
  const f = s.fields;
  const rows: ConnectionRow[] = [];
  for (let i = 0; i < s.capacity; i++) {
    const proto = f.proto[i]!;
    if (proto === 0) continue;
    rows.push({
      protocol: PROTOCOLS[proto] ?? 'IP',
      client: endpoint(f.caddr[i]!, f.cport[i]!),
      virtual: endpoint(f.vaddr[i]!, f.vport[i]!),
      real: endpoint(f.daddr[i]!, f.dport[i]!),
      state: STATE_NAMES[f.state[i]!] ?? String(f.state[i]),
      expiresInMs: Math.max(0, f.expires[i]! - nowMs),
      template: false,
    });
  }
  return rows;
}

/** Rows of the shared template table's buffer (TemplateTable.buffer). */
export function listTemplates(buffer: SharedArrayBuffer, nowMs: number): ConnectionRow[] {
  const s = new Slab(buffer, TEMPLATE_FIELDS);
  const f = s.fields;
  const rows: ConnectionRow[] = [];
  for (let i = 0; i < s.capacity; i++) {
    const flags = Atomics.load(f.flags, i);
    if (flags === 0) continue;
    const proto = f.proto[i]!;
    // Re-keyed at invalidation, as the kernel lists it: vport and dport 65535 (T_REKEYED).
    const rekeyed = (flags & T_REKEYED) !== 0;
    rows.push({
      protocol: PROTOCOLS[proto] ?? 'IP',
      client: endpoint(f.caddr[i]!, 0),
      virtual: proto === 0 ? `FWM ${f.vaddr[i]}` : endpoint(f.vaddr[i]!, rekeyed ? 0xffff : f.vport[i]!),
      real: endpoint(f.daddr[i]!, rekeyed ? 0xffff : f.dport[i]!),
      state: flags & T_ASSURED ? 'ASSURED' : 'NONE',
      expiresInMs: Math.max(0, f.expires[i]! - nowMs),
      template: true,
    });
  }
  return rows;
}
