// SMTP check: keepalived's SMTP_CHECK (check/check_smtp.c). Connect, read the greeting
// (220), say HELO helo_name (default keepalived's), expect 250, then QUIT without waiting.

import type { Socket } from 'node:net';
import type { HealthCheck } from '../../config/model.js';
import type { CheckResult, CheckTarget, Checker } from '../checker.js';
import { endpointOf, quote, runCheck, timeoutOf, type CheckRun } from './common.js';
import { connectStream, readReply } from './stream.js';

const DEFAULT_HELO_NAME = 'smtpchecker.keepalived.org';
/** The last line of an SMTP reply: three digits and a space (or nothing); "250-" lines continue it. */
const FINAL_LINE = /(?:^|\n)(\d{3})(?: [^\n]*)?\r?\n/;

/** One SMTP reply (possibly multi-line): its code, or undefined when the peer said no such thing. */
async function smtpReply(run: CheckRun, sock: Socket, phase: string): Promise<{ code: number | undefined; text: string }> {
  const reply = await readReply(run, sock, (data) => FINAL_LINE.test(data.toString('latin1')), { phase, cap: 16 * 1024 });
  const text = reply.data.toString('latin1');
  const m = FINAL_LINE.exec(text);
  return { code: m ? Number(m[1]) : undefined, text: text.trimEnd() };
}

export class SmtpChecker implements Checker {
  readonly kind = 'smtp';

  constructor(private readonly spec: HealthCheck) {}

  run(target: CheckTarget, signal: AbortSignal): Promise<CheckResult> {
    return runCheck(timeoutOf(this.spec), signal, async (run) => {
      const sock = await connectStream(run, endpointOf(this.spec, target));
      const greeting = await smtpReply(run, sock, 'waiting for the SMTP greeting');
      if (greeting.code !== 220) return { ok: false, reason: `SMTP greeting ${quote(greeting.text)} (expected 220)` };
      sock.write(`HELO ${this.spec.extra?.helo_name ?? DEFAULT_HELO_NAME}\r\n`);
      const helo = await smtpReply(run, sock, 'waiting for the HELO reply');
      if (helo.code !== 250) return { ok: false, reason: `HELO answered ${quote(helo.text)} (expected 250)` };
      sock.end('QUIT\r\n');
      return { ok: true, reason: 'SMTP 250' };
    });
  }
}
