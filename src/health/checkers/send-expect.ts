// Send/expect check: nanny's built-in probe (piranha nanny.c; lvs-cf.md §8.2), over TCP or,
// for a UDP service, one datagram each way.
//
// Connect, write `send` once if there is one, then judge the reply against `expect`:
//   "*"          any non-empty reply;
//   use_regex    an unanchored search (POSIX ERE in nanny, JavaScript RegExp here);
//   otherwise    the reply must start with `expect` (nanny compares the first len(expect) bytes).
// TCP without `expect` is connect (+ send) only. UDP always waits for a reply datagram, so a
// UDP check needs `send` (nanny's rule: nothing is sent otherwise, and the check times out).
// `send`/`expect` arrive with nanny's escapes (\n \r \t \\ \' \") already translated by the
// lvs.cf loader; they are sent and compared as UTF-8 bytes.

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { HealthCheck } from '../../config/model.js';
import type { CheckResult, CheckTarget, Checker } from '../checker.js';
import { assertPort, compileRegex, endpointOf, errorReason, quote, runCheck, step, timeoutOf, type CheckRun, type Endpoint, type Verdict } from './common.js';
import { connectStream, readReply } from './stream.js';

/** A reply that stops arriving for this long is complete (a regex that has not matched by then fails). */
const QUIET_MS = 200;

/** How a reply is judged; `judge` returns undefined while more data could still decide it. */
class Expectation {
  private readonly pattern: RegExp | undefined;
  private readonly prefix: Buffer | undefined;

  constructor(
    readonly expect: string | undefined,
    pattern: RegExp | undefined,
  ) {
    this.pattern = pattern;
    this.prefix = expect !== undefined && pattern === undefined && expect !== '*' ? Buffer.from(expect, 'utf8') : undefined;
  }

  judge(reply: Buffer, final: boolean): Verdict | undefined {
    if (this.pattern !== undefined) {
      if (this.pattern.test(reply.toString('utf8'))) return { ok: true, reason: `reply matches ${this.pattern}` };
      return final ? { ok: false, reason: `reply ${quote(reply)} does not match ${this.pattern}` } : undefined;
    }
    if (this.prefix === undefined) {
      // "*" or no expect: any reply will do.
      if (reply.length > 0) return { ok: true, reason: `reply ${quote(reply, 20)}` };
      return final ? { ok: false, reason: 'empty reply' } : undefined;
    }
    const n = Math.min(reply.length, this.prefix.length);
    if (!reply.subarray(0, n).equals(this.prefix.subarray(0, n))) return { ok: false, reason: `reply ${quote(reply)} does not start with ${quote(this.prefix)}` };
    if (n === this.prefix.length) return { ok: true, reason: `reply starts with ${quote(this.prefix)}` };
    return final ? { ok: false, reason: reply.length === 0 ? `no reply (expected ${quote(this.prefix)})` : `reply ${quote(reply)} is shorter than expect ${quote(this.prefix)}` } : undefined;
  }
}

export class SendExpectChecker implements Checker {
  readonly kind = 'send-expect';
  private readonly payload: Buffer | undefined;
  private readonly expectation: Expectation | string;

  constructor(
    private readonly spec: HealthCheck,
    private readonly protocol: 'tcp' | 'udp',
  ) {
    this.payload = spec.send !== undefined && spec.send !== '' ? Buffer.from(spec.send, 'utf8') : undefined;
    const pattern = spec.regex && spec.expect !== undefined ? compileRegex(spec.expect) : undefined;
    this.expectation = typeof pattern === 'string' ? pattern : new Expectation(spec.expect === '' ? undefined : spec.expect, pattern);
  }

  run(target: CheckTarget, signal: AbortSignal): Promise<CheckResult> {
    return runCheck(timeoutOf(this.spec), signal, async (run) => {
      const expectation = this.expectation;
      if (typeof expectation === 'string') return { ok: false, reason: expectation };
      const to = endpointOf(this.spec, target);
      return this.protocol === 'udp' ? this.udp(run, to, expectation) : this.tcp(run, to, expectation);
    });
  }

  private async tcp(run: CheckRun, to: Endpoint, expectation: Expectation): Promise<Verdict> {
    const sock = await connectStream(run, to);
    if (this.payload !== undefined) sock.write(this.payload);
    if (expectation.expect === undefined) return { ok: true, reason: this.payload !== undefined ? 'connected, sent' : 'connected' };
    let verdict: Verdict | undefined;
    // nanny judges what one read returns; waiting for a quiet moment tolerates a reply split in segments.
    const reply = await readReply(run, sock, (data) => (verdict = expectation.judge(data, false)) !== undefined, { phase: 'waiting for reply', quietMs: QUIET_MS });
    return verdict ?? expectation.judge(reply.data, true)!;
  }

  private async udp(run: CheckRun, to: Endpoint, expectation: Expectation): Promise<Verdict> {
    assertPort(to.port);
    const sock = createSocket({ type: isIPv6(to.address) ? 'udp6' : 'udp4' });
    run.onEnd(() => sock.close());
    sock.on('error', () => {});
    await bindAndConnect(run, sock, to);
    if (this.payload !== undefined) sock.send(this.payload);
    const datagram = await firstDatagram(run, sock, this.payload === undefined ? ' (nothing sent: a UDP check needs send)' : '');
    // nanny reads one datagram: it decides.
    return expectation.judge(datagram, true)!;
  }
}

function bindAndConnect(run: CheckRun, sock: UdpSocket, to: Endpoint): Promise<void> {
  return step<void>(
    run,
    () => run.stoppedReason('connecting'),
    (ok, fail) => {
      const onError = (err: Error): void => fail(errorReason(err));
      sock.once('error', onError);
      const connect = (): void => sock.connect(to.port, to.address, () => ok());
      if (to.localAddress !== undefined || to.localPort !== undefined) sock.bind({ address: to.localAddress, port: to.localPort ?? 0 }, connect);
      else connect();
      return () => sock.off('error', onError);
    },
  );
}

/** The first reply datagram; an ICMP port unreachable arrives as ECONNREFUSED on a connected socket. */
function firstDatagram(run: CheckRun, sock: UdpSocket, hint: string): Promise<Buffer> {
  return step<Buffer>(
    run,
    () => `${run.stoppedReason('waiting for reply')}${hint}`,
    (ok, fail) => {
      const onMessage = (msg: Buffer): void => ok(msg);
      const onError = (err: Error): void => fail((err as { code?: string }).code === 'ECONNREFUSED' ? 'port unreachable' : errorReason(err));
      sock.on('message', onMessage);
      sock.on('error', onError);
      return () => {
        sock.off('message', onMessage);
        sock.off('error', onError);
      };
    },
  );
}
