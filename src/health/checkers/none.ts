// No check: keepalived checkers uvs does not run (DNS_CHECK, UDP_CHECK, FILE_CHECK,
// BFD_CHECK, loaded as kind 'none') and settings-only specs. The server counts as up, and
// the reason says it was not probed.

import type { HealthCheck } from '../../config/model.js';
import type { CheckResult, Checker } from '../checker.js';

export class NoChecker implements Checker {
  readonly kind = 'none';
  private readonly reason: string;

  constructor(spec: HealthCheck) {
    this.reason = spec.checker !== undefined ? `not checked (${spec.checker} is not run by uvs)` : 'not checked';
  }

  run(): Promise<CheckResult> {
    return Promise.resolve({ ok: true, reason: this.reason, ms: 0 });
  }
}
