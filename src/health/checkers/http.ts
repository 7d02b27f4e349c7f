// HTTP and HTTPS GET: keepalived's HTTP_GET and SSL_GET (check/check_http.c, check_ssl.c).
//
// The request is keepalived's: "GET <path> HTTP/1.0" (http_protocol 1.0C adds
// "Connection: close", 1.1 asks HTTP/1.1 with it), User-Agent KeepAliveClient, and Host
// = virtualhost or "<ip>:<port>" ("[ip6]:port"). The server is up when every criterion of
// the url holds:
//   status     in status_code (a code, or a list of codes and ranges; default 200-299);
//   digest     MD5 of the body bytes after the headers (up to Content-Length when there is
//              one), as `genhash` prints it: like keepalived, a chunked body is hashed as sent;
//   regex      found in the body (or not, with regex_no_match); searched in its first 64 KiB.
// SSL_GET does not verify certificates (keepalived without a CA); sni_name / enable_sni set
// the SNI name.

import { createHash, type Hash } from 'node:crypto';
import { isIP } from 'node:net';
import type { HealthCheck } from '../../config/model.js';
import type { CheckResult, CheckTarget, Checker } from '../checker.js';
import { compileRegex, endpointOf, quote, REPLY_CAP, runCheck, timeoutOf, type CheckRun, type Endpoint, type Verdict } from './common.js';
import { connectStream, consume, type TlsOptions } from './stream.js';

const DEFAULT_STATUS = '200-299';

/** Accepted status codes: `200`, `200-299 301 302`. */
function parseStatusList(text: string): [number, number][] | string {
  const ranges: [number, number][] = [];
  for (const word of text.trim().split(/[\s,]+/)) {
    const m = /^([1-5]\d\d)(?:-([1-5]\d\d))?$/.exec(word);
    if (!m) return `bad status_code ${quote(text)}`;
    ranges.push([Number(m[1]), Number(m[2] ?? m[1])]);
  }
  return ranges;
}

/** Reads a response: the status and headers, then the body into the digest and the kept prefix. */
class ResponseReader {
  private head = Buffer.alloc(0);
  status: number | undefined;
  statusLine = '';
  headersDone = false;
  headersTooLong = false;
  private contentLength: number | undefined;
  private bodyBytes = 0;
  /** The first REPLY_CAP bytes of the body, for the regex. */
  kept = Buffer.alloc(0);

  constructor(
    private readonly md5: Hash | undefined,
    private readonly needBody: boolean,
  ) {}

  /** True once nothing more needs reading. */
  take(chunk: Buffer): boolean {
    if (!this.headersDone) {
      this.head = Buffer.concat([this.head, chunk]);
      let end = this.head.indexOf('\r\n\r\n');
      let sep = 4;
      if (end < 0) {
        end = this.head.indexOf('\n\n');
        sep = 2;
      }
      if (end < 0) {
        if (this.head.length > REPLY_CAP) this.headersTooLong = true;
        return this.headersTooLong;
      }
      this.parseHead(this.head.subarray(0, end).toString('latin1'));
      chunk = this.head.subarray(end + sep);
      this.head = Buffer.alloc(0);
      if (!this.needBody || this.status === undefined) return true;
    }
    this.takeBody(chunk);
    return this.contentLength !== undefined && this.bodyBytes >= this.contentLength;
  }

  private parseHead(head: string): void {
    this.headersDone = true;
    const lines = head.split(/\r?\n/);
    this.statusLine = lines[0] ?? '';
    const m = /^HTTP\/\d+\.\d+\s+(\d{3})(?:\s|$)/.exec(this.statusLine);
    if (m) this.status = Number(m[1]);
    for (const line of lines.slice(1)) {
      const h = /^content-length\s*:\s*(\d+)\s*$/i.exec(line);
      if (h) this.contentLength = Number(h[1]);
    }
  }

  private takeBody(chunk: Buffer): void {
    if (this.contentLength !== undefined) chunk = chunk.subarray(0, Math.max(0, this.contentLength - this.bodyBytes));
    this.bodyBytes += chunk.length;
    this.md5?.update(chunk);
    if (this.kept.length < REPLY_CAP) this.kept = Buffer.concat([this.kept, chunk.subarray(0, REPLY_CAP - this.kept.length)]);
  }

  /** The head received so far (for a reason when the headers never complete). */
  partial(): Buffer {
    return this.head;
  }
}

export class HttpChecker implements Checker {
  readonly kind: 'http' | 'https';
  private readonly statuses: [number, number][] | string;
  private readonly statusText: string;
  private readonly pattern: RegExp | string | undefined;
  private readonly invert: boolean;
  private readonly digest: string | undefined;
  private readonly path: string;

  constructor(
    private readonly spec: HealthCheck,
    private readonly tls: boolean,
  ) {
    this.kind = tls ? 'https' : 'http';
    const extra = spec.extra ?? {};
    this.statusText = extra.status_code ?? (spec.status !== undefined ? String(spec.status) : DEFAULT_STATUS);
    this.statuses = parseStatusList(this.statusText);
    // An expect without regex is a literal to find in the body.
    this.pattern = spec.expect === undefined ? undefined : spec.regex ? compileRegex(spec.expect) : new RegExp(spec.expect.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.invert = extra.regex_no_match === 'true';
    this.digest = spec.digest?.toLowerCase();
    this.path = spec.path ?? '/';
  }

  run(target: CheckTarget, signal: AbortSignal): Promise<CheckResult> {
    return runCheck(timeoutOf(this.spec), signal, (run) => this.check(run, endpointOf(this.spec, target)));
  }

  private async check(run: CheckRun, to: Endpoint): Promise<Verdict> {
    const pattern = this.pattern;
    if (typeof this.statuses === 'string') return { ok: false, reason: this.statuses };
    if (typeof pattern === 'string') return { ok: false, reason: pattern };
    if (/[\s]/.test(this.path)) return { ok: false, reason: `bad path ${quote(this.path)}` };
    const sock = await connectStream(run, to, this.tls ? this.tlsOptions() : undefined);
    sock.write(this.request(to));
    const md5 = this.digest !== undefined ? createHash('md5') : undefined;
    const reader = new ResponseReader(md5, md5 !== undefined || pattern !== undefined);
    await consume(
      run,
      sock,
      // Without a digest, a found regex decides as soon as it is seen.
      (chunk) => reader.take(chunk) || (md5 === undefined && pattern !== undefined && !this.invert && reader.headersDone && pattern.test(reader.kept.toString('utf8'))),
      { phase: 'waiting for the response', partial: () => reader.partial() },
    );
    if (reader.headersTooLong) return { ok: false, reason: 'response headers longer than 64 KiB' };
    if (!reader.headersDone) return { ok: false, reason: reader.partial().length === 0 ? 'connection closed without a response' : `incomplete response ${quote(reader.partial())}` };
    if (reader.status === undefined) return { ok: false, reason: `not an HTTP response ${quote(reader.statusLine)}` };
    if (!this.statuses.some(([low, high]) => reader.status! >= low && reader.status! <= high)) return { ok: false, reason: `HTTP ${reader.status} (expected ${this.statusText})` };
    if (md5 !== undefined) {
      const got = md5.digest('hex');
      if (got !== this.digest) return { ok: false, reason: `digest ${got} (expected ${this.digest})` };
    }
    if (pattern !== undefined) {
      const found = pattern.test(reader.kept.toString('utf8'));
      if (found && this.invert) return { ok: false, reason: `body matches ${pattern} (regex_no_match)` };
      if (!found && !this.invert) return { ok: false, reason: `body does not match ${pattern}` };
    }
    return { ok: true, reason: `HTTP ${reader.status}` };
  }

  private request(to: Endpoint): string {
    const extra = this.spec.extra ?? {};
    const protocol = extra.http_protocol ?? '1.0';
    const host = extra.virtualhost ?? (isIP(to.address) === 6 ? `[${to.address}]:${to.port}` : `${to.address}:${to.port}`);
    const close = protocol === '1.0C' || protocol === '1.1' ? 'Connection: close\r\n' : '';
    return `GET ${this.path} HTTP/1.${protocol === '1.1' ? 1 : 0}\r\nUser-Agent: KeepAliveClient\r\n${close}Host: ${host}\r\n\r\n`;
  }

  private tlsOptions(): TlsOptions {
    const extra = this.spec.extra ?? {};
    const name = extra.sni_name ?? (extra.enable_sni === 'true' ? extra.virtualhost : undefined);
    // SNI carries host names only.
    return name !== undefined && isIP(name) === 0 ? { servername: name } : {};
  }
}
