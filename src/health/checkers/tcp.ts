// TCP connect check: keepalived's TCP_CHECK (check/check_tcp.c), and nanny's probe without
// send or expect: up when a TCP connection to the server completes within the timeout.

import type { HealthCheck } from '../../config/model.js';
import type { CheckResult, CheckTarget, Checker } from '../checker.js';
import { endpointOf, runCheck, timeoutOf } from './common.js';
import { connectStream } from './stream.js';

export class TcpChecker implements Checker {
  readonly kind = 'tcp';

  constructor(private readonly spec: HealthCheck) {}

  run(target: CheckTarget, signal: AbortSignal): Promise<CheckResult> {
    return runCheck(timeoutOf(this.spec), signal, async (run) => {
      await connectStream(run, endpointOf(this.spec, target));
      return { ok: true, reason: 'connected' };
    });
  }
}
