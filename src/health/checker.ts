// Health checkers: one interface, one factory (keepalived's check/ layout: check_tcp.c,
// check_http.c, check_misc.c, check_ping.c, check_smtp.c; nanny's probe for lvs.cf).
//
// A checker answers one question per run: is this real server up right now, and why not.
// It never throws, never blocks the event loop, and gives up at the check's timeout or
// when the caller's AbortSignal fires. Scheduling, retries, rise/fall and table edits are
// the monitor's (src/health/monitor.ts); a checker only reports.

import type { HealthCheck } from '../config/model.js';
import { AgentChecker } from './checkers/agent.js';
import { ExternalChecker } from './checkers/external.js';
import { HttpChecker } from './checkers/http.js';
import { IcmpChecker } from './checkers/icmp.js';
import { NoChecker } from './checkers/none.js';
import { SendExpectChecker } from './checkers/send-expect.js';
import { SmtpChecker } from './checkers/smtp.js';
import { TcpChecker } from './checkers/tcp.js';

/** The real server a check probes (port = its port; the check's own port overrides). */
export interface CheckTarget {
  address: string;
  port: number;
}

export interface CheckResult {
  ok: boolean;
  /** Short and human: "connect refused", "HTTP 503 (expected 200-299)", "exit 1", ... */
  reason: string;
  /** How long the check took, milliseconds. */
  ms: number;
  /** Absolute weight the server asked for (keepalived MISC_CHECK misc_dynamic: exit code - 2). */
  weight?: number;
  /** Load feedback in percent of the configured weight (agent check), as reported. */
  percent?: number;
  /** The agent asked to drain: up, but no new connections (weight 0). */
  drain?: boolean;
}

export interface Checker {
  readonly kind: string;
  run(target: CheckTarget, signal: AbortSignal): Promise<CheckResult>;
}

/** `HealthCheck.checker` naming the agent check (HAProxy agent-check style; docs/health-agent.md). */
export const AGENT_CHECKER = 'AGENT_CHECK';
/** keepalived's SMTP_CHECK (kind 'tcp' in the model: a TCP connection, then the SMTP dialogue). */
export const SMTP_CHECKER = 'SMTP_CHECK';

/**
 * The checker for `spec`. `protocol` is the virtual service's: nanny probes UDP services
 * with datagrams. Never throws: a spec it cannot run (bad regex, unparsable command line)
 * gives a checker whose every run fails with that reason.
 */
export function createChecker(spec: HealthCheck, protocol: 'tcp' | 'udp'): Checker {
  switch (spec.kind) {
    case 'tcp':
      if (spec.checker === AGENT_CHECKER) return new AgentChecker(spec);
      if (spec.checker === SMTP_CHECKER) return new SmtpChecker(spec);
      return new TcpChecker(spec);
    case 'send-expect':
      return new SendExpectChecker(spec, protocol);
    case 'http':
    case 'https':
      return new HttpChecker(spec, spec.kind === 'https');
    case 'external':
      return new ExternalChecker(spec);
    case 'icmp':
      return new IcmpChecker(spec);
    case 'none':
      return new NoChecker(spec);
  }
}
