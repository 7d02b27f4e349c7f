// From the configuration model to what the health monitor watches: every real server with a
// check (its own, else its service's, plus its additional checks) becomes one watch with
// one schedule per check. The timing defaults are nanny's (Piranha nanny.c: `-t` is both
// the period and the timeout, one failure removes, floor(reentry/timeout) successes bring
// back) where the model is silent; keepalived's loader fills every field itself
// (check_parser.c: delay_loop, connect_timeout, retry + 1, delay_before_retry, warmup,
// alpha). docs/health.md has the table.

import { serviceKey, type HealthCheck, type RealServer, type ServiceTable, type VirtualService } from '../config/model.js';
import { AGENT_CHECKER, type CheckTarget } from './checker.js';
import { NANNY_RAMP_STEP_MS, type CheckRules } from './state.js';

/** nanny's `-t` default (lvs.cf `timeout`): period and timeout, seconds. */
export const DEFAULT_INTERVAL_S = 10;
export const DEFAULT_RETRIES = 1;
export const DEFAULT_RISE = 1;

/** One check of one server, as the monitor runs it. */
export interface CheckSchedule {
  /** The model's check, handed to the checker factory unchanged. */
  spec: HealthCheck;
  protocol: 'tcp' | 'udp';
  target: CheckTarget;
  /** Names the check in reasons and listings: keepalived's checker name, else the kind. */
  label: string;
  /** Start-to-start period while healthy, ms. */
  intervalMs: number;
  /** A run is aborted and counted as failed after this, ms. */
  timeoutMs: number;
  /** Start-to-start period while an up check is failing (keepalived delay_before_retry), ms. */
  retryDelayMs: number;
  /** The first run comes at a random point in 0..warmupMs, so checks do not fire together. */
  warmupMs: number;
  rules: CheckRules;
}

export interface WatchSpec {
  /** Service + server: the identity kept across updates. */
  key: string;
  service: string;
  server: string;
  /** The configured weight the dynamic weight starts from. */
  weight: number;
  /** Slow start after re-entry (nanny): the weight doubles every rampStepMs; 0 = back at full weight. */
  rampStepMs: number;
  /** All must pass for the server to be up. */
  checks: CheckSchedule[];
}

export interface WatchOptions {
  /** Ramp recovered servers up as nanny does (max(1, W/32), doubling every 20 s). Default off. */
  ramp?: boolean;
}

/** "10.0.1.1:8080", "[2001:db8::1]:80": a server as logs and listings name it. */
export const hostPort = (address: string, port: number): string => `${address.includes(':') ? `[${address}]` : address}:${port}`;

/** "TCP 10.0.0.1:80 -> 10.0.1.1:8080": a server's key in the monitor, its events and the effective table. */
export function watchKey(service: Pick<VirtualService, 'protocol' | 'address' | 'port' | 'fwmark' | 'family'>, server: Pick<RealServer, 'address' | 'port'>): string {
  return `${serviceKey(service)} -> ${hostPort(server.address, server.port)}`;
}

/** The checks that run for a server: its own (else the service's), then its additional ones. */
function checksOf(svc: VirtualService, server: RealServer): HealthCheck[] {
  const first = server.health ?? svc.health;
  return [...(first ? [first] : []), ...(server.additionalHealth ?? []), ...loadMonitorCheck(first)];
}

/** Agent port of the lab's real servers and of docs/health-agent.md. */
const AGENT_PORT = 9002;

/**
 * Piranha's `load_monitor` (uptime, rup, ruptime: nanny read each server's load with
 * rstatd/rwhod and scaled its weight) becomes the agent check: the server reports its load
 * as a percentage (docs/health-agent.md) on port 9002, polled at the check's interval.
 */
function loadMonitorCheck(check: HealthCheck | undefined): HealthCheck[] {
  const monitor = check?.extra?.load_monitor;
  if (!check || monitor === undefined || monitor === 'none') return [];
  return [{ kind: 'tcp', checker: AGENT_CHECKER, port: AGENT_PORT, interval: check.interval ?? DEFAULT_INTERVAL_S, timeout: check.timeout ?? DEFAULT_INTERVAL_S, retries: check.retries ?? DEFAULT_RETRIES, riseCount: 1 }];
}

/** A finite, non-negative number of seconds from the model or `extra`, else undefined. */
function seconds(v: number | string | undefined): number | undefined {
  const n = typeof v === 'string' ? (v.trim() === '' ? NaN : Number(v)) : v;
  return n !== undefined && Number.isFinite(n) && n >= 0 ? n : undefined;
}

const positiveInt = (v: number | undefined, fallback: number): number => (v !== undefined && Number.isFinite(v) && v >= 1 ? Math.floor(v) : fallback);

/** Ports the protocol gives when nothing else does. */
const WELL_KNOWN_PORT: Partial<Record<HealthCheck['kind'], number>> = { http: 80, https: 443 };

/**
 * The port a check probes: the check's own, else the server's, else (a fwmark server
 * keeping the packet's port 0) the service's; with none, HTTP 80 / HTTPS 443; ICMP and
 * external programs need none (0). undefined: nothing to connect to.
 */
function probePort(spec: HealthCheck, svc: VirtualService, server: RealServer): number | undefined {
  const port = spec.port || server.port || svc.port || WELL_KNOWN_PORT[spec.kind];
  if (port) return port;
  return spec.kind === 'icmp' || spec.kind === 'external' ? 0 : undefined;
}

function scheduleOf(spec: HealthCheck, protocol: 'tcp' | 'udp', target: CheckTarget): CheckSchedule {
  const extra = spec.extra ?? {};
  // nanny's single -t is both: one given alone stands for the other.
  const interval = seconds(spec.interval) || seconds(spec.timeout) || DEFAULT_INTERVAL_S;
  const timeout = seconds(spec.timeout) || interval;
  const retryDelay = seconds(extra.delay_before_retry) ?? interval;
  const warmup = seconds(extra.warmup) ?? interval;
  return {
    spec,
    protocol,
    target,
    label: spec.checker ?? spec.kind,
    intervalMs: interval * 1000,
    timeoutMs: timeout * 1000,
    retryDelayMs: retryDelay * 1000,
    warmupMs: warmup * 1000,
    rules: {
      retries: positiveInt(spec.retries, DEFAULT_RETRIES),
      rise: positiveInt(spec.riseCount, DEFAULT_RISE),
      initiallyUp: extra.alpha !== 'true',
    },
  };
}

/** Every watch the table asks for, and why some checks are not run. */
export function watchesOf(table: ServiceTable, options: WatchOptions = {}): { watches: WatchSpec[]; warnings: string[] } {
  const watches: WatchSpec[] = [];
  const warnings: string[] = [];
  for (const svc of table.services) {
    for (const server of svc.servers) {
      const key = watchKey(svc, server);
      const checks: CheckSchedule[] = [];
      for (const spec of checksOf(svc, server)) {
        if (spec.kind === 'none') {
          // kind none without a checker name only carries settings (quorum, notify_up...).
          if (spec.checker !== undefined) warnings.push(`${key}: uvs has no ${spec.checker} checker; this check is not run`);
          continue;
        }
        if (svc.protocol === 'sctp' && spec.kind !== 'icmp' && spec.kind !== 'external') {
          warnings.push(`${key}: no ${spec.checker ?? spec.kind} check over SCTP; this check is not run`);
          continue;
        }
        const port = probePort(spec, svc, server);
        if (port === undefined) {
          warnings.push(`${key}: no port to probe for the ${spec.checker ?? spec.kind} check (give the check a port); this check is not run`);
          continue;
        }
        const protocol = svc.protocol === 'udp' ? 'udp' : 'tcp';
        checks.push(scheduleOf(spec, protocol, { address: server.address, port }));
      }
      if (checks.length === 0) continue;
      watches.push({ key, service: serviceKey(svc), server: hostPort(server.address, server.port), weight: server.weight, rampStepMs: options.ramp ? NANNY_RAMP_STEP_MS : 0, checks });
    }
  }
  return { watches, warnings };
}
