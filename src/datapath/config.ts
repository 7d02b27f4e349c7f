// The minimal configuration `uvs forward --config FILE` reads before the full config
// dialects (ipvsadm rules, lvs.cf, keepalived.conf) arrive with the daemon: JSON naming
// the director's interfaces, the virtual services and their real servers. Every error
// names the file and the JSON path of the offending value.
//
//   { "interfaces": ["pub0", "priv0"], "workers": 2,
//     "owned": ["198.19.0.254"],
//     "services": [ { "protocol": "tcp", "address": "198.18.0.100", "port": 80, "scheduler": "rr",
//                     "servers": [ { "address": "198.19.0.11", "port": 80, "weight": 1, "method": "nat" } ] } ] }

import { readFileSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { UvsError } from '../errors.js';
import { ip4FromString } from '../packet/addr.js';
import { schedulerNames } from '../schedulers/index.js';
import { METHOD_BY_NAME, type DatapathSnapshot, type MethodName, type ServiceSnapshot } from './snapshot.js';
import type { RouteSpec } from './routes.js';
import type { IsolationRules } from './isolation.js';

export interface ForwardServer {
  address: string;
  port: number;
  weight: number;
  method: MethodName;
}

export interface ForwardService {
  protocol: 'tcp' | 'udp';
  address: string;
  port: number;
  scheduler: string;
  servers: ForwardServer[];
}

export interface ForwardConfig {
  interfaces: string[];
  workers?: number;
  /** Extra floating addresses to answer ARP for (e.g. the real servers' NAT gateway). */
  owned: string[];
  services: ForwardService[];
}

class ConfigError extends UvsError {
  constructor(file: string, path: string, message: string) {
    super('UVS_CONFIG', `${file}: ${path}: ${message}`);
  }
}

function ipv4(file: string, path: string, v: unknown): string {
  if (typeof v !== 'string' || !ipaddr.IPv4.isValidFourPartDecimal(v)) throw new ConfigError(file, path, `expected an IPv4 address (a.b.c.d), got ${JSON.stringify(v)}`);
  return v;
}

function int(file: string, path: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ConfigError(file, path, `expected an integer ${min}..${max}, got ${JSON.stringify(v)}`);
  return v;
}

/** Parses and validates a forward config; `file` names it in errors. */
export function parseForwardConfig(text: string, file: string): ForwardConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UvsError('UVS_CONFIG', `${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(file, '$', 'expected an object');
  const o = raw as Record<string, unknown>;
  const known = new Set(['interfaces', 'workers', 'owned', 'services']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new ConfigError(file, `$.${k}`, `unknown key (expected one of ${[...known].join(', ')})`);
  if (!Array.isArray(o.interfaces) || o.interfaces.length === 0 || !o.interfaces.every((i) => typeof i === 'string' && i.length > 0 && i.length < 16))
    throw new ConfigError(file, '$.interfaces', 'expected a non-empty array of interface names');
  const cfg: ForwardConfig = { interfaces: o.interfaces as string[], owned: [], services: [] };
  if (o.workers !== undefined) cfg.workers = int(file, '$.workers', o.workers, 1, 16);
  if (o.owned !== undefined) {
    if (!Array.isArray(o.owned)) throw new ConfigError(file, '$.owned', 'expected an array of IPv4 addresses');
    cfg.owned = o.owned.map((a, i) => ipv4(file, `$.owned[${i}]`, a));
  }
  if (!Array.isArray(o.services)) throw new ConfigError(file, '$.services', 'expected an array');
  const seen = new Set<string>();
  o.services.forEach((s: unknown, i: number) => {
    const p = `$.services[${i}]`;
    if (typeof s !== 'object' || s === null) throw new ConfigError(file, p, 'expected an object');
    const so = s as Record<string, unknown>;
    if (so.protocol !== 'tcp' && so.protocol !== 'udp') throw new ConfigError(file, `${p}.protocol`, `expected "tcp" or "udp", got ${JSON.stringify(so.protocol)}`);
    const scheduler = so.scheduler ?? 'rr';
    if (typeof scheduler !== 'string' || !schedulerNames().includes(scheduler)) throw new ConfigError(file, `${p}.scheduler`, `unknown scheduler ${JSON.stringify(scheduler)} (have: ${schedulerNames().join(', ')})`);
    const svc: ForwardService = { protocol: so.protocol, address: ipv4(file, `${p}.address`, so.address), port: int(file, `${p}.port`, so.port, 1, 65535), scheduler, servers: [] };
    const key = `${svc.protocol} ${svc.address}:${svc.port}`;
    if (seen.has(key)) throw new ConfigError(file, p, `duplicate service ${key}`);
    seen.add(key);
    if (!Array.isArray(so.servers)) throw new ConfigError(file, `${p}.servers`, 'expected an array');
    so.servers.forEach((d: unknown, j: number) => {
      const q = `${p}.servers[${j}]`;
      if (typeof d !== 'object' || d === null) throw new ConfigError(file, q, 'expected an object');
      const dd = d as Record<string, unknown>;
      const method = (dd.method ?? 'dr') as MethodName;
      if (!(method in METHOD_BY_NAME)) throw new ConfigError(file, `${q}.method`, `expected "nat", "dr" or "tun", got ${JSON.stringify(dd.method)}`);
      const port = dd.port === undefined ? svc.port : int(file, `${q}.port`, dd.port, 0, 65535);
      // As ipvsadm: DR and TUN cannot change the port.
      if (method !== 'nat' && port !== svc.port) throw new ConfigError(file, `${q}.port`, `${method} forwarding keeps the service port ${svc.port}; only nat can map to ${port}`);
      svc.servers.push({ address: ipv4(file, `${q}.address`, dd.address), port, weight: dd.weight === undefined ? 1 : int(file, `${q}.weight`, dd.weight, 0, 65535), method });
    });
    cfg.services.push(svc);
  });
  return cfg;
}

export function loadForwardConfig(file: string): ForwardConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UvsError('UVS_CONFIG', `${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseForwardConfig(text, file);
}

/**
 * Builds a datapath snapshot. Real servers keep their stats slot across calls through
 * `slots` (key "proto vip:port -> rip:port"), so counters survive a reload.
 */
export function snapshotOf(cfg: ForwardConfig, routes: RouteSpec[], slots: Map<string, number>): Omit<DatapathSnapshot, 'generation'> {
  const services: ServiceSnapshot[] = cfg.services.map((s) => ({
    protocol: s.protocol === 'tcp' ? 6 : 17,
    address: ip4FromString(s.address),
    port: s.port,
    scheduler: s.scheduler,
    // IPVS lists real servers newest first.
    dests: [...s.servers].reverse().map((d) => {
      const key = `${s.protocol} ${s.address}:${s.port} -> ${d.address}:${d.port}`;
      let slot = slots.get(key);
      if (slot === undefined) {
        slot = slots.size;
        slots.set(key, slot);
      }
      return { address: ip4FromString(d.address), port: d.port, weight: d.weight, method: METHOD_BY_NAME[d.method], slot };
    }),
  }));
  const owned = [...new Set([...cfg.services.map((s) => s.address), ...cfg.owned])].map(ip4FromString);
  return { services, owned, routes };
}

/** What the kernel must keep out of, for this config (see docs/isolation.md). */
export function isolationRulesOf(cfg: ForwardConfig): IsolationRules {
  return {
    services: cfg.services.map((s) => ({ protocol: s.protocol, vip: s.address, port: s.port })),
    realServers: cfg.services.flatMap((s) => s.servers.filter((d) => d.method === 'nat').map((d) => ({ protocol: s.protocol, address: d.address, port: d.port }))),
    natRouterAddresses: cfg.owned,
  };
}
