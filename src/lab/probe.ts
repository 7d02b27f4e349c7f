#!/usr/bin/env node
// A small traffic probe for lab namespaces (the client side of real-server.ts), so tests,
// the demo and the docs need neither curl nor nc:
//
//   ip netns exec P-client node dist/src/lab/probe.js tcp 198.19.0.11 9000 --send hello
//   ip netns exec P-client node dist/src/lab/probe.js udp 198.18.0.100 9000 --send hi
//   ip netns exec P-client node dist/src/lab/probe.js http http://198.18.0.100/
//
// Options: --send TEXT | --size N (N bytes of a pattern), --bind ADDR (source address),
// --timeout MS (per attempt, default 3000), --count N (attempts, one after the other).
// Prints one JSON object per attempt (a ProbeResult) on stdout and exits 0 if all succeeded,
// 1 otherwise. TCP: connect, send, half-close, read until the server closes. UDP: one
// datagram, one reply. HTTP: one GET.

import { createSocket } from 'node:dgram';
import { request } from 'node:http';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';

export interface ProbeResult {
  ok: boolean;
  proto: 'tcp' | 'udp' | 'http';
  target: string;
  /** Local address:port used. */
  local?: string;
  /** Bytes sent / received. */
  sent: number;
  bytes: number;
  /** Received data as UTF-8 (TCP/UDP), or the HTTP body (truncated to 64 KiB). */
  received?: string;
  /** --size: the echo (after any identify line) matched what was sent. */
  echoOk?: boolean;
  /** First line received (TCP identify) or first word(s) for UDP identify. */
  firstLine?: string;
  /** HTTP status and the X-Real-Server header. */
  status?: number;
  server?: string;
  ms: number;
  error?: string;
}

const MAX_TEXT = 64 * 1024;

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = 0x61 + (i % 26);
  return b;
}

function hostport(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function tcp(host: string, port: number, payload: Buffer, bind: string | undefined, timeoutMs: number, checkEcho: boolean): Promise<ProbeResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let local: string | undefined;
    const sock = connect({ host, port, ...(bind ? { localAddress: bind } : {}), allowHalfOpen: true });
    const done = (error?: string): void => {
      clearTimeout(timer);
      sock.destroy();
      const data = Buffer.concat(chunks);
      const nl = data.indexOf(0x0a);
      const r: ProbeResult = { ok: error === undefined, proto: 'tcp', target: hostport(host, port), sent: payload.length, bytes, ms: performance.now() - t0 };
      if (local) r.local = local;
      if (data.length <= MAX_TEXT) r.received = data.toString('utf8');
      if (nl >= 0) r.firstLine = data.subarray(0, nl).toString('utf8');
      if (checkEcho) r.echoOk = data.subarray(data.length - payload.length).equals(payload);
      if (error !== undefined) r.error = error;
      resolve(r);
    };
    const timer = setTimeout(() => done(`timeout after ${timeoutMs} ms (${bytes} bytes received)`), timeoutMs);
    sock.on('connect', () => {
      local = hostport(sock.localAddress ?? '?', sock.localPort ?? 0);
      sock.end(payload);
    });
    sock.on('data', (d: Buffer) => {
      bytes += d.length;
      if (bytes <= MAX_TEXT + payload.length + 256 || checkEcho) chunks.push(d);
    });
    sock.on('end', () => done());
    sock.on('error', (e) => done(e.message));
  });
}

function udp(host: string, port: number, payload: Buffer, bind: string | undefined, timeoutMs: number): Promise<ProbeResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const v6 = host.includes(':');
    const sock = createSocket(v6 ? 'udp6' : 'udp4');
    let local: string | undefined;
    const done = (msg?: Buffer, error?: string): void => {
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        /* already closed */
      }
      const r: ProbeResult = { ok: error === undefined, proto: 'udp', target: hostport(host, port), sent: payload.length, bytes: msg?.length ?? 0, ms: performance.now() - t0 };
      if (local) r.local = local;
      if (msg) {
        r.received = msg.subarray(0, MAX_TEXT).toString('utf8');
        r.echoOk = msg.subarray(msg.length - payload.length).equals(payload);
      }
      if (error !== undefined) r.error = error;
      resolve(r);
    };
    const timer = setTimeout(() => done(undefined, `timeout after ${timeoutMs} ms (no reply)`), timeoutMs);
    sock.on('error', (e) => done(undefined, e.message));
    sock.on('message', (msg) => done(msg));
    sock.bind({ address: bind ?? (v6 ? '::' : '0.0.0.0'), port: 0 }, () => {
      sock.connect(port, host, () => {
        const a = sock.address();
        local = hostport(a.address, a.port);
        sock.send(payload);
      });
    });
  });
}

function http(url: string, bind: string | undefined, timeoutMs: number): Promise<ProbeResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let bytes = 0;
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (r: Partial<ProbeResult>, error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const out: ProbeResult = { ok: error === undefined, proto: 'http', target: url, sent: 0, bytes, ms: performance.now() - t0, ...r };
      if (error !== undefined) out.error = error;
      resolve(out);
    };
    const req = request(url, { agent: false, ...(bind ? { localAddress: bind } : {}) }, (res) => {
      res.on('data', (d: Buffer) => {
        bytes += d.length;
        if (bytes <= MAX_TEXT) chunks.push(d);
      });
      res.on('end', () => {
        const server = res.headers['x-real-server'];
        const r: Partial<ProbeResult> = { status: res.statusCode ?? 0, received: Buffer.concat(chunks).toString('utf8') };
        if (typeof server === 'string') r.server = server;
        const s = res.socket;
        if (s?.localAddress) r.local = hostport(s.localAddress, s.localPort ?? 0);
        done(r, res.statusCode === 200 ? undefined : `HTTP status ${res.statusCode}`);
      });
      res.on('error', (e) => done({}, e.message));
    });
    const timer = setTimeout(() => {
      req.destroy();
      done({}, `timeout after ${timeoutMs} ms`);
    }, timeoutMs);
    req.on('error', (e) => done({}, e.message));
    req.end();
  });
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      send: { type: 'string' },
      size: { type: 'string' },
      bind: { type: 'string' },
      timeout: { type: 'string', default: '3000' },
      count: { type: 'string', default: '1' },
    },
  });
  const [proto, a, b] = positionals;
  const timeoutMs = Number(values.timeout);
  const count = Number(values.count);
  const payload = values.size !== undefined ? pattern(Number(values.size)) : Buffer.from(values.send ?? '', 'utf8');
  let failed = 0;
  for (let i = 0; i < count; i++) {
    let r: ProbeResult;
    if (proto === 'tcp' && a && b) r = await tcp(a, Number(b), payload, values.bind, timeoutMs, values.size !== undefined);
    else if (proto === 'udp' && a && b) r = await udp(a, Number(b), payload, values.bind, timeoutMs);
    else if (proto === 'http' && a) r = await http(a, values.bind, timeoutMs);
    else {
      process.stderr.write('usage: probe.js tcp|udp HOST PORT [--send TEXT|--size N] | http URL  [--bind ADDR] [--timeout MS] [--count N]\n');
      return 2;
    }
    if (!r.ok) failed++;
    process.stdout.write(JSON.stringify(r) + '\n');
  }
  return failed === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`probe: ${(err as Error).message}\n`);
    process.exitCode = 2;
  },
);
