// What the datapath runs, given the configuration and the health of every server: the
// decisions keepalived's check/ipwrapper.c makes (perform_svr_state, update_quorum_state:
// remove or inhibit a failed server, quorum with hysteresis, the sorry server replacing the
// live servers) and Piranha's lvsd/nanny make (delete or quiesce to weight 0, the sorry
// server while no server is up). Pure: the table and the health view in, the effective
// table and what differs from the configuration out.
//
// Quorum (keepalived.md §4.1): W = the sum of the running weights of the servers that are
// up; Q = quorum (default 1, at most the total configured weight, at least 1); H =
// hysteresis (default 0, below Q). A service with no previous state is up when W >= Q + H;
// an up service goes down when W < Q - H or W = 0; a down one comes up when W >= Q + H.
// With the defaults: down exactly when no server with weight is up — nanny's rule.

import { serviceKey, type Method, type RealServer, type ServiceTable, type VirtualService } from '../config/model.js';
import type { HealthView, ServerVerdict } from './monitor.js';
import { hostPort, watchKey } from './watches.js';

export type HealthAction =
  /** A down server left out. */
  | 'removed'
  /** A down server kept at weight 0 so its connections drain (quiesce / inhibit_on_failure). */
  | 'quiesced'
  /** An up server at a weight other than its configured one (agent, misc_dynamic, ramp). */
  | 'weight'
  /** A live server taken out while the sorry server stands in. */
  | 'replaced'
  | 'sorry-server'
  /** The service's quorum state flipped (or is lost at the first decision). */
  | 'quorum-lost'
  | 'quorum-regained';

export interface HealthChange {
  service: string;
  /** "10.0.1.1:8080" for server changes. */
  server?: string;
  action: HealthAction;
  /** Weights: configured and effective ('weight', 'quiesced'); live and quorum ('quorum-*'). */
  from?: number;
  to?: number;
  reason?: string;
}

/** Service key -> quorum up, carried from one decision to the next (hysteresis needs it). */
export type QuorumStates = ReadonlyMap<string, boolean>;

export interface EffectiveTable {
  table: ServiceTable;
  changes: HealthChange[];
  quorum: Map<string, boolean>;
}

/** A non-negative integer from the service's stored keepalived settings. */
function setting(svc: VirtualService, name: string): number | undefined {
  const raw = svc.health?.extra?.[name];
  if (raw === undefined || !/^\s*\d+\s*$/.test(raw)) return undefined;
  return Number(raw);
}

/** Quorum and hysteresis as keepalived corrects them (check_data.c). */
export function quorumOf(svc: VirtualService): { quorum: number; hysteresis: number } {
  const total = svc.servers.reduce((sum, d) => sum + d.weight, 0);
  const quorum = Math.max(1, Math.min(setting(svc, 'quorum') ?? 1, total));
  const hysteresis = Math.min(setting(svc, 'hysteresis') ?? 0, quorum - 1);
  return { quorum, hysteresis };
}

/** The next quorum state of a service whose live weight is `live`. */
export function nextQuorumState(live: number, q: { quorum: number; hysteresis: number }, previous: boolean | undefined): boolean {
  if (previous === true) return !(live < q.quorum - q.hysteresis || live === 0);
  return live >= q.quorum + q.hysteresis;
}

const METHODS: Record<string, Method> = { nat: 'nat', dr: 'dr', tun: 'tun' };

/**
 * The sorry server as a real server: weight 1, keepalived's sorry_server_lvs_method else the
 * first server's method (lvs.cf: the global `network`) else NAT; DR and TUN cannot map ports,
 * so they take the service's port (0 for fwmark), NAT the sorry server's own.
 */
function sorryServerOf(svc: VirtualService): RealServer {
  const sorry = svc.sorryServer!;
  const named = METHODS[(svc.health?.extra?.sorry_server_lvs_method ?? '').trim().split(/\s+/)[0]!.toLowerCase()];
  const first = svc.servers[0];
  const method = named ?? first?.method ?? 'nat';
  const server: RealServer = { address: sorry.address, port: method === 'nat' ? sorry.port : svc.port, method, weight: 1, upper: 0, lower: 0 };
  if (named === undefined && method === 'tun' && first) {
    for (const k of ['tunType', 'tunPort', 'tunCsum'] as const) if (first[k] !== undefined) Object.assign(server, { [k]: first[k] });
  }
  return server;
}

interface Judged {
  server: RealServer;
  verdict: ServerVerdict;
  quiesce: boolean;
}

function judge(svc: VirtualService, server: RealServer, health: HealthView): Judged {
  const verdict = health.get(watchKey(svc, server)) ?? { up: true, weight: server.weight, reason: '' };
  return { server, verdict, quiesce: server.quiesce ?? svc.quiesce ?? false };
}

/** The table the datapath should run for `table` given the servers' health. */
export function effectiveTable(table: ServiceTable, health: HealthView, previous: QuorumStates = new Map()): EffectiveTable {
  const out = structuredClone(table);
  const changes: HealthChange[] = [];
  const quorum = new Map<string, boolean>();
  for (const svc of out.services) {
    const key = serviceKey(svc);
    const judged = svc.servers.map((d) => judge(svc, d, health));
    const live = judged.reduce((sum, j) => sum + (j.verdict.up ? j.verdict.weight : 0), 0);
    const q = quorumOf(svc);
    const was = previous.get(key);
    const up = nextQuorumState(live, q, was);
    quorum.set(key, up);
    if (up !== was && (was !== undefined || !up)) changes.push({ service: key, action: up ? 'quorum-regained' : 'quorum-lost', from: live, to: q.quorum, reason: `live weight ${live}, quorum ${q.quorum}, hysteresis ${q.hysteresis}` });
    const sorry = !up && svc.sorryServer !== undefined;
    const servers: RealServer[] = [];
    for (const { server, verdict, quiesce } of judged) {
      const name = hostPort(server.address, server.port);
      if (!verdict.up) {
        if (quiesce) servers.push({ ...server, weight: 0 });
        changes.push({ service: key, server: name, action: quiesce ? 'quiesced' : 'removed', ...(quiesce ? { from: server.weight, to: 0 } : {}), reason: verdict.reason });
      } else if (sorry) {
        changes.push({ service: key, server: name, action: 'replaced', reason: 'below quorum: the sorry server stands in' });
      } else {
        servers.push({ ...server, weight: verdict.weight });
        if (verdict.weight !== server.weight) changes.push({ service: key, server: name, action: 'weight', from: server.weight, to: verdict.weight });
      }
    }
    if (sorry) {
      const stand = sorryServerOf(svc);
      // The sorry server may also be listed as a real server: one entry, the sorry one.
      const others = servers.filter((d) => d.address !== stand.address || d.port !== stand.port);
      svc.servers = [...others, stand];
      changes.push({ service: key, server: hostPort(stand.address, stand.port), action: 'sorry-server', to: 1, reason: `live weight ${live} below quorum ${q.quorum}` });
    } else {
      svc.servers = servers;
    }
  }
  return { table: out, changes, quorum };
}
