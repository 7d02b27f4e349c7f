#!/usr/bin/env node
// Load driver for lab tests, the demo and benches: opens COUNT TCP connections (CONCURRENCY
// at a time) to the identify service (real-server.ts: first line "<name> <peer>", then an
// echo), each with a random payload, and verifies every one end to end: the echo is
// byte-identical (SHA-256), the server named itself, and it saw this client's real address
// and port. Prints one JSON summary. Bounded in count and time.
//
//   node dist/src/lab/load.js tcp HOST PORT COUNT [--concurrency 32] [--max-bytes 1048576] [--timeout 30000] [--seed 1]
//                                      [--size N (every payload N bytes)] [--seconds S (stop after S s)]
//                                      [--bind A,B,... (source addresses, in turn)] [--hold MS (keep each
//                                      connection open MS before sending: long-lived connections)]
//   node dist/src/lab/load.js udp HOST PORT COUNT [...]        (one datagram + reply each)
//   node dist/src/lab/load.js http HOST PORT COUNT [...]       (one GET / each: X-Real-Server, the client seen)
//   node dist/src/lab/load.js upload HOST PORT BYTES           (to the digest service: sha256 compared)
//   node dist/src/lab/load.js download HOST PORT BYTES         (HTTP GET /bytes/N: length and content checked)

import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { get as httpGet } from 'node:http';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { isMainModule } from './main-module.js';

export interface LoadSummary {
  proto: 'tcp' | 'udp' | 'http';
  target: string;
  attempted: number;
  ok: number;
  failed: number;
  /** Connections per server name. */
  servers: Record<string, number>;
  /** Payload bytes sent (and echoed back intact) in all. */
  bytes: number;
  /** The peer address the client's socket saw (NAT: the VIP). */
  peers: string[];
  /** With --bind: connections per source address, per server name. */
  bySource: Record<string, Record<string, number>>;
  errors: Record<string, number>;
  ms: number;
}

const EMPTY = Buffer.alloc(0);

/** Splits the identify service's first line ("<name> <peer>") from the echo after it. */
export class IdentifyLine {
  text = '';
  done = false;
  /** Takes a received chunk; returns what follows the first line in it (empty while the line is still coming). */
  feed(d: Buffer): Buffer {
    if (this.done) return d;
    const nl = d.indexOf(10);
    if (nl < 0) {
      this.text += d.toString('latin1');
      return EMPTY;
    }
    this.text += d.subarray(0, nl).toString('latin1');
    this.done = true;
    return d.subarray(nl + 1);
  }
}

/** Most payloads small, some medium, a few up to maxBytes; 0 included. */
function payloadSize(maxBytes: number, r: number): number {
  if (r < 0.05) return 0;
  if (r < 0.8) return Math.floor(r * 2000);
  if (r < 0.97) return Math.floor(r * 65536);
  return Math.floor(((r - 0.97) / 0.03) * maxBytes);
}

interface OneOptions {
  /** Source address (undefined: the kernel's choice). */
  bind: string | undefined;
  /** TCP: ms to keep the connection open (after the identify line) before sending. */
  holdMs: number;
}

function tcpOne(host: string, port: number, size: number, timeoutMs: number, o: OneOptions): Promise<{ server?: string; peer?: string; error?: string }> {
  return new Promise((resolve) => {
    const data = randomBytes(size);
    const want = createHash('sha256').update(data).digest('hex');
    const hash = createHash('sha256');
    const head = new IdentifyLine();
    let echoed = 0;
    const s = connect({ host, port, allowHalfOpen: true, ...(o.bind ? { localAddress: o.bind } : {}) });
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ error: 'timeout' });
    }, timeoutMs + o.holdMs);
    let peer = '?';
    s.on('connect', () => {
      peer = s.remoteAddress ?? '?';
      if (o.holdMs > 0) setTimeout(() => s.end(data), o.holdMs);
      else s.end(data);
    });
    s.on('data', (chunk: Buffer) => {
      const d = head.feed(chunk);
      echoed += d.length;
      hash.update(d);
    });
    s.on('end', () => {
      clearTimeout(timer);
      const [server, seen] = head.text.split(' ');
      const local = `${s.localAddress}:${s.localPort}`;
      if (!head.done) resolve({ error: 'no identify line' });
      else if (seen !== local) resolve({ error: 'server saw another client address' });
      else if (echoed !== size || hash.digest('hex') !== want) resolve({ error: 'echo differs' });
      else resolve({ server, peer });
      s.destroy();
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ error: e.code ?? e.message });
    });
  });
}

function udpOne(host: string, port: number, size: number, timeoutMs: number, o: OneOptions): Promise<{ server?: string; peer?: string; error?: string }> {
  return new Promise((resolve) => {
    const data = randomBytes(Math.min(size, 1400));
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      resolve({ error: 'timeout' });
    }, timeoutMs);
    s.on('message', (m, rinfo) => {
      clearTimeout(timer);
      const sp = m.indexOf(32);
      const sp2 = m.indexOf(32, sp + 1);
      const server = m.subarray(0, sp).toString();
      const seen = m.subarray(sp + 1, sp2).toString();
      const addr = s.address();
      s.close();
      if (seen !== `${addr.address}:${addr.port}`) resolve({ error: 'server saw another client address' });
      else if (!m.subarray(sp2 + 1).equals(data)) resolve({ error: 'echo differs' });
      else resolve({ server, peer: rinfo.address });
    });
    // Connected, so the socket has a concrete local address to compare with what the server saw.
    const send = (): void => s.connect(port, host, () => s.send(data));
    if (o.bind) s.bind({ address: o.bind, port: 0 }, send);
    else send();
    s.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      s.close();
      resolve({ error: e.code ?? e.message });
    });
  });
}

/** One HTTP GET / on a fresh connection: the server named itself and saw this client. */
function httpOne(host: string, port: number, _size: number, timeoutMs: number, o: OneOptions): Promise<{ server?: string; peer?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = httpGet({ host, port, path: '/', agent: false, timeout: timeoutMs, ...(o.bind ? { localAddress: o.bind } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        const [name, seen] = body.trim().split(' ');
        const local = `${req.socket?.localAddress}:${req.socket?.localPort}`;
        if (res.statusCode !== 200) resolve({ error: `HTTP ${res.statusCode}` });
        else if (seen !== local) resolve({ error: 'server saw another client address' });
        else resolve({ server: String(res.headers['x-real-server'] ?? name), peer: req.socket?.remoteAddress ?? '?' });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
  });
}

export async function runLoad(
  proto: 'tcp' | 'udp' | 'http',
  host: string,
  port: number,
  count: number,
  opts: { concurrency: number; maxBytes: number; timeoutMs: number; seed: number; size?: number; seconds?: number; bind?: string[]; holdMs?: number },
): Promise<LoadSummary> {
  const t0 = Date.now();
  const sum: LoadSummary = { proto, target: `${host}:${port}`, attempted: 0, ok: 0, failed: 0, servers: {}, bytes: 0, peers: [], bySource: {}, errors: {}, ms: 0 };
  const sources = opts.bind ?? [];
  let seed = opts.seed >>> 0 || 1;
  const rand = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const peers = new Set<string>();
  let next = 0;
  const one = proto === 'tcp' ? tcpOne : proto === 'udp' ? udpOne : httpOne;
  const worker = async (): Promise<void> => {
    const stopAt = t0 + (opts.seconds !== undefined ? opts.seconds * 1000 : opts.timeoutMs * 4);
    while (next < count && Date.now() < stopAt) {
      const bind = sources.length > 0 ? sources[next % sources.length] : undefined;
      next++;
      sum.attempted++;
      const size = opts.size ?? payloadSize(opts.maxBytes, rand());
      const r = await one(host, port, size, opts.timeoutMs, { bind, holdMs: opts.holdMs ?? 0 });
      if (r.error !== undefined) {
        sum.failed++;
        sum.errors[r.error] = (sum.errors[r.error] ?? 0) + 1;
      } else {
        sum.ok++;
        sum.bytes += proto === 'tcp' ? size : proto === 'udp' ? Math.min(size, 1400) : 0;
        sum.servers[r.server!] = (sum.servers[r.server!] ?? 0) + 1;
        if (bind !== undefined) {
          const per = (sum.bySource[bind] ??= {});
          per[r.server!] = (per[r.server!] ?? 0) + 1;
        }
        peers.add(r.peer!);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, count) }, worker));
  sum.peers = [...peers];
  sum.ms = Date.now() - t0;
  return sum;
}

export interface BulkResult {
  ok: boolean;
  bytes: number;
  server?: string;
  ms: number;
  gbps: number;
  error?: string;
}

/** Uploads `total` bytes (distinct 1 MiB blocks) to the digest service and compares SHA-256. */
export function upload(host: string, port: number, total: number, timeoutMs: number): Promise<BulkResult> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const block = randomBytes(1 << 20);
    const hash = createHash('sha256');
    let sent = 0;
    let reply = '';
    const s = connect({ host, port, allowHalfOpen: true });
    const done = (r: Omit<BulkResult, 'ms' | 'gbps'>): void => {
      clearTimeout(timer);
      const ms = Date.now() - t0;
      resolve({ ...r, ms, gbps: (r.bytes * 8) / (ms / 1000) / 1e9 });
      s.destroy();
    };
    const timer = setTimeout(() => done({ ok: false, bytes: sent, error: 'timeout' }), timeoutMs);
    const pump = (): void => {
      while (sent < total) {
        const n = Math.min(block.length, total - sent);
        block.writeUInt32BE(sent / block.length, 0); // every block distinct
        const chunk = Buffer.from(block.subarray(0, n));
        hash.update(chunk);
        sent += n;
        if (!s.write(chunk)) {
          s.once('drain', pump);
          return;
        }
      }
      s.end();
    };
    s.on('connect', pump);
    s.on('data', (d: Buffer) => (reply += d.toString()));
    s.on('end', () => {
      const [server, , bytes, digest] = reply.trim().split(' ');
      const want = hash.digest('hex');
      if (Number(bytes) !== total || digest !== want) done({ ok: false, bytes: Number(bytes), ...(server ? { server } : {}), error: `server got ${bytes} bytes, digest ${digest === want ? 'matches' : 'differs'}` });
      else done({ ok: true, bytes: total, ...(server ? { server } : {}) });
    });
    s.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, bytes: sent, error: e.code ?? e.message }));
  });
}

/** Downloads `total` bytes from the HTTP service's /bytes/N and checks length and content ('x'). */
export function download(host: string, port: number, total: number, timeoutMs: number): Promise<BulkResult> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    let got = 0;
    let bad = 0;
    let head = '';
    let body = false;
    let server: string | undefined;
    const s = connect({ host, port });
    const done = (r: Omit<BulkResult, 'ms' | 'gbps'>): void => {
      clearTimeout(timer);
      const ms = Date.now() - t0;
      resolve({ ...r, ms, gbps: (r.bytes * 8) / (ms / 1000) / 1e9 });
      s.destroy();
    };
    const timer = setTimeout(() => done({ ok: false, bytes: got, error: 'timeout' }), timeoutMs);
    s.on('connect', () => s.write(`GET /bytes/${total} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    s.on('data', (d: Buffer) => {
      if (!body) {
        head += d.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        server = /X-Real-Server: (\S+)/i.exec(head)?.[1];
        d = Buffer.from(head.slice(end + 4), 'latin1');
        body = true;
      }
      got += d.length;
      for (let i = 0; i < d.length; i++) if (d[i] !== 0x78) bad++;
    });
    s.on('end', () => done(got === total && bad === 0 ? { ok: true, bytes: got, ...(server ? { server } : {}) } : { ok: false, bytes: got, error: `got ${got} bytes, ${bad} wrong` }));
    s.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, bytes: got, error: e.code ?? e.message }));
  });
}

if (isMainModule(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      concurrency: { type: 'string', default: '32' },
      'max-bytes': { type: 'string', default: String(1 << 20) },
      timeout: { type: 'string', default: '30000' },
      seed: { type: 'string', default: '1' },
      size: { type: 'string' },
      seconds: { type: 'string' },
      bind: { type: 'string' },
      hold: { type: 'string' },
    },
  });
  const [proto, host, port, count] = positionals;
  if (!['tcp', 'udp', 'http', 'upload', 'download'].includes(proto ?? '') || !host || !port || !count) {
    process.stderr.write('usage: load.js tcp|udp|http|upload|download HOST PORT COUNT|BYTES [--concurrency N] [--max-bytes N] [--timeout MS] [--seed N]\n');
    process.exit(2);
  }
  if (proto === 'upload' || proto === 'download') {
    const r = await (proto === 'upload' ? upload : download)(host, Number(port), Number(count), Number(values.timeout) * 10);
    process.stdout.write(JSON.stringify(r) + '\n');
    process.exit(r.ok ? 0 : 1);
  }
  const s = await runLoad(proto as 'tcp' | 'udp' | 'http', host, Number(port), Math.min(Number(count), 1_000_000), {
    concurrency: Number(values.concurrency),
    maxBytes: Number(values['max-bytes']),
    timeoutMs: Number(values.timeout),
    seed: Number(values.seed),
    ...(values.size !== undefined ? { size: Number(values.size) } : {}),
    ...(values.seconds !== undefined ? { seconds: Math.min(60, Number(values.seconds)) } : {}),
    ...(values.bind !== undefined ? { bind: values.bind.split(',') } : {}),
    ...(values.hold !== undefined ? { holdMs: Math.min(60_000, Number(values.hold)) } : {}),
  });
  process.stdout.write(JSON.stringify(s) + '\n');
  process.exitCode = s.failed === 0 ? 0 : 1;
}
