// What every checker shares: the run (the check's timeout and the caller's AbortSignal as
// one deadline, and cleanups that run however the check ends), the guard that turns any
// failure into a CheckResult, where to probe (keepalived connect_ip/connect_port/bindto),
// and the wording of reasons.

import { performance } from 'node:perf_hooks';
import type { HealthCheck } from '../../config/model.js';
import type { CheckResult, CheckTarget } from '../checker.js';

/** keepalived's connect_timeout default, for a spec without a timeout. */
export const DEFAULT_TIMEOUT_MS = 5000;
/** The most a checker keeps of a reply (garbage and floods are cut here, not buffered). */
export const REPLY_CAP = 64 * 1024;

/** A check that failed for a known reason; thrown inside a run, turned into ok:false by runCheck. */
export class CheckFailure extends Error {}

/** Reasons the run's own signal aborts with (made once: a DOMException per abort costs a stack trace). */
const TIMED_OUT = new Error('check timed out');
const RUN_OVER = new Error('check run over');

/** A CheckResult before its duration is known. */
export type Verdict = Omit<CheckResult, 'ms'>;

/** One run of a check: its deadline, and what to undo when it ends. */
export class CheckRun {
  /** Aborts at the check's timeout or when the caller's signal does. */
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly started = performance.now();
  private readonly timer: NodeJS.Timeout;
  private readonly cleanups: (() => void)[] = [];
  private timedOut = false;
  private readonly onCallerAbort = (): void => this.controller.abort(this.caller.reason);

  constructor(
    readonly timeoutMs: number,
    private readonly caller: AbortSignal,
  ) {
    this.signal = this.controller.signal;
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(TIMED_OUT);
    }, timeoutMs);
    if (caller.aborted) this.controller.abort(caller.reason);
    else caller.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  /** Why the run stopped early, e.g. "timeout after 3000 ms waiting for reply". */
  stoppedReason(phase: string): string {
    if (this.timedOut) return `timeout after ${this.timeoutMs} ms ${phase}`;
    const reason: unknown = this.caller.reason;
    // The caller's own deadline (AbortSignal.timeout) is a timeout too; anything else is a cancel.
    if (reason instanceof DOMException && reason.name === 'TimeoutError') return `timeout ${phase}`;
    return `aborted ${phase}`;
  }

  /** Run `fn` when the run ends, however it ends (destroy sockets, kill programs). */
  onEnd(fn: () => void): void {
    this.cleanups.push(fn);
  }

  /** Milliseconds since the run started. */
  elapsed(): number {
    return performance.now() - this.started;
  }

  end(): void {
    clearTimeout(this.timer);
    this.caller.removeEventListener('abort', this.onCallerAbort);
    // Anything still listening (a late socket event) sees the run as over.
    this.controller.abort(RUN_OVER);
    for (const fn of this.cleanups.splice(0)) {
      try {
        fn();
      } catch {
        /* cleanup of something already gone */
      }
    }
  }
}

/** Run `body` under a deadline; whatever happens, a CheckResult comes back (never a throw). */
export async function runCheck(timeoutMs: number, caller: AbortSignal, body: (run: CheckRun) => Promise<Verdict>): Promise<CheckResult> {
  const run = new CheckRun(timeoutMs, caller);
  let verdict: Verdict;
  try {
    verdict = run.signal.aborted ? { ok: false, reason: run.stoppedReason('before starting') } : await body(run);
  } catch (err) {
    verdict = { ok: false, reason: err instanceof CheckFailure ? err.message : `internal error: ${messageOf(err)}` };
  } finally {
    run.end();
  }
  return { ...verdict, ms: Math.round(run.elapsed() * 10) / 10 };
}

/**
 * One step of a check (connect, wait for a reply, wait for a program) that ends by itself
 * or at the run's deadline, whichever is first. `start` begins it, calls `ok` or `fail`
 * (a reason) once, and returns how to stop listening. `stopped` words the deadline's reason.
 */
export function step<T>(run: CheckRun, stopped: () => string, start: (ok: (value: T) => void, fail: (reason: string) => void) => () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let stopListening: (() => void) | undefined;
    const finish = (): void => {
      settled = true;
      run.signal.removeEventListener('abort', onAbort);
      stopListening?.();
    };
    const ok = (value: T): void => {
      if (settled) return;
      finish();
      resolve(value);
    };
    const fail = (reason: string): void => {
      if (settled) return;
      finish();
      reject(new CheckFailure(reason));
    };
    const onAbort = (): void => fail(stopped());
    if (run.signal.aborted) return onAbort();
    run.signal.addEventListener('abort', onAbort, { once: true });
    try {
      stopListening = start(ok, fail);
    } catch (err) {
      finish();
      return reject(err);
    }
    // `start` may have settled at once, before its stopper existed.
    if (settled) stopListening();
  });
}

/** The check's timeout in milliseconds (HealthCheck.timeout is in seconds). */
export function timeoutOf(spec: HealthCheck): number {
  const seconds = spec.timeout;
  return seconds !== undefined && Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : DEFAULT_TIMEOUT_MS;
}

/** Where a check connects: keepalived connect_ip / connect_port / bindto / bind_port, else the server. */
export interface Endpoint {
  address: string;
  port: number;
  localAddress?: string;
  localPort?: number;
}

export function endpointOf(spec: HealthCheck, target: CheckTarget): Endpoint {
  const extra = spec.extra ?? {};
  const endpoint: Endpoint = { address: extra.connect_ip ?? target.address, port: spec.port ?? target.port };
  if (extra.bindto !== undefined) endpoint.localAddress = extra.bindto;
  if (extra.bind_port !== undefined) endpoint.localPort = Number(extra.bind_port);
  return endpoint;
}

/** A port a socket can use, or the check fails with the reason. */
export function assertPort(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CheckFailure(`bad port ${port}`);
}

/** A RegExp from configuration, or the reason it cannot be one (reported by every run). */
export function compileRegex(source: string): RegExp | string {
  try {
    return new RegExp(source);
  } catch (err) {
    return `bad regular expression /${source}/: ${messageOf(err)}`;
  }
}

const ERRNO_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connect refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EHOSTDOWN: 'host down',
  ETIMEDOUT: 'connect timed out',
  EADDRNOTAVAIL: 'local address not available',
  EADDRINUSE: 'local address in use',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
};

/** A system or TLS error as a short reason ("connect refused", "TLS: wrong version number"). */
export function errorReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    const known = ERRNO_REASONS[code];
    if (known !== undefined) return known;
    // OpenSSL's messages carry its internals; its `reason` is the readable part.
    const tlsReason = (err as { reason?: unknown }).reason;
    if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code.includes('CERT')) return `TLS: ${typeof tlsReason === 'string' ? tlsReason : messageOf(err)}`;
  }
  return messageOf(err);
}

export function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.slice(0, 160);
}

/** Data shown in a reason: quoted, control bytes escaped, cut at `max` characters. */
export function quote(data: Buffer | string, max = 40): string {
  const text = typeof data === 'string' ? data : data.subarray(0, max * 4).toString('latin1');
  let shown = '';
  for (const ch of text) {
    if (shown.length >= max) return `'${shown}...'`;
    const code = ch.codePointAt(0)!;
    if (ch === '\n') shown += '\\n';
    else if (ch === '\r') shown += '\\r';
    else if (ch === '\t') shown += '\\t';
    else if (ch === '\\' || ch === "'") shown += `\\${ch}`;
    else if (code < 0x20 || (code >= 0x7f && code <= 0xff && typeof data !== 'string')) shown += `\\x${code.toString(16).padStart(2, '0')}`;
    else shown += ch;
  }
  return `'${shown}'`;
}
