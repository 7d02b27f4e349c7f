#!/usr/bin/env node
// bench/harness/conn-load: the harness's new-connections driver, run in the lab's client
// namespace. Same job as the lab load driver's tcp mode (src/lab/load.ts: one connection
// per request, a SIZE-byte payload, the identify line, the echo verified byte for byte,
// closed), with one difference: --proxy skips the check that the server saw this client's
// own address and port (a full proxy such as HAProxy connects from its own address), so
// every balancer is driven by the same client code. Bounded in count and in time; prints
// one JSON line. --rate R paces the starts (open loop, R per second, at most --concurrency
// in flight) instead of starting the next one as soon as one ends; --latency adds the
// connect and first-byte times' percentiles (ms, from the start of each connection).
//
//   node dist/bench/harness/conn-load.js HOST PORT --seconds S [--concurrency 64] [--size 16]
//                                        [--max 1000000] [--timeout 5000] [--proxy]
//                                        [--rate R] [--latency]

import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { IdentifyLine } from '../../src/lab/load.js';
import { isMainModule } from '../../src/lab/main-module.js';

export interface ConnLoadResult {
  ok: number;
  failed: number;
  errors: Record<string, number>;
  servers: Record<string, number>;
  ms: number;
  /** With --latency: percentiles in ms of verified connections. */
  latency?: { connect: Percentiles; firstByte: Percentiles };
  /** With --rate: starts skipped because --concurrency were in flight. */
  dropped?: number;
}

export interface Percentiles {
  n: number;
  p50: number;
  p99: number;
  p999: number;
}

function percentiles(xs: number[]): Percentiles {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number): number => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]! : NaN);
  return { n: s.length, p50: at(0.5), p99: at(0.99), p999: at(0.999) };
}

interface One {
  server?: string;
  error?: string;
  connectMs?: number;
  firstByteMs?: number;
}

function one(host: string, port: number, payload: Buffer, timeoutMs: number, proxy: boolean): Promise<One> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const since = (): number => Number(process.hrtime.bigint() - t0) / 1e6;
    let connectMs: number | undefined;
    let firstByteMs: number | undefined;
    const head = new IdentifyLine();
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (r: One): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const s = connect({ host, port, allowHalfOpen: true });
    const timer = setTimeout(() => finish({ error: 'timeout' }), timeoutMs);
    s.on('connect', () => {
      connectMs = since();
      s.end(payload);
    });
    s.on('data', (chunk: Buffer) => {
      firstByteMs ??= since();
      chunks.push(head.feed(chunk));
    });
    s.on('end', () => {
      const [server, seen] = head.text.split(' ');
      if (!head.done || !server) return finish({ error: 'no identify line' });
      if (!proxy && seen !== `${s.localAddress}:${s.localPort}`) return finish({ error: 'server saw another client address' });
      if (!Buffer.concat(chunks).equals(payload)) return finish({ error: 'echo differs' });
      finish({ server, ...(connectMs !== undefined ? { connectMs } : {}), ...(firstByteMs !== undefined ? { firstByteMs } : {}) });
    });
    s.on('error', (e: NodeJS.ErrnoException) => finish({ error: e.code ?? e.message }));
  });
}

export async function connLoad(
  host: string,
  port: number,
  o: { seconds: number; concurrency: number; size: number; max: number; timeoutMs: number; proxy: boolean; rate?: number; latency?: boolean },
): Promise<ConnLoadResult> {
  const t0 = Date.now();
  const stopAt = t0 + o.seconds * 1000;
  const r: ConnLoadResult = { ok: 0, failed: 0, errors: {}, servers: {}, ms: 0 };
  const connect: number[] = [];
  const firstByte: number[] = [];
  let started = 0;
  const record = (x: One): void => {
    if (x.error !== undefined) {
      r.failed++;
      r.errors[x.error] = (r.errors[x.error] ?? 0) + 1;
    } else {
      r.ok++;
      r.servers[x.server!] = (r.servers[x.server!] ?? 0) + 1;
      if (o.latency && x.connectMs !== undefined) connect.push(x.connectMs);
      if (o.latency && x.firstByteMs !== undefined) firstByte.push(x.firstByteMs);
    }
  };
  if (o.rate !== undefined && o.rate > 0) {
    // Open loop: start i at t0 + i/rate, unless `concurrency` are still in flight.
    let inFlight = 0;
    let dropped = 0;
    const pending = new Set<Promise<void>>();
    while (started < o.max && Date.now() < stopAt) {
      const due = t0 + (started * 1000) / o.rate;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      started++;
      if (inFlight >= o.concurrency) {
        dropped++;
        continue;
      }
      inFlight++;
      const p: Promise<void> = one(host, port, randomBytes(o.size), o.timeoutMs, o.proxy).then((x) => {
        inFlight--;
        record(x);
        pending.delete(p);
      });
      pending.add(p);
    }
    await Promise.all([...pending]);
    r.dropped = dropped;
  } else {
    const worker = async (): Promise<void> => {
      while (started < o.max && Date.now() < stopAt) {
        started++;
        record(await one(host, port, randomBytes(o.size), o.timeoutMs, o.proxy));
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
  }
  r.ms = Date.now() - t0;
  if (o.latency) r.latency = { connect: percentiles(connect), firstByte: percentiles(firstByte) };
  return r;
}

if (isMainModule(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      seconds: { type: 'string', default: '2' },
      concurrency: { type: 'string', default: '64' },
      size: { type: 'string', default: '16' },
      max: { type: 'string', default: '1000000' },
      timeout: { type: 'string', default: '5000' },
      proxy: { type: 'boolean', default: false },
      rate: { type: 'string' },
      latency: { type: 'boolean', default: false },
    },
  });
  const [host, port] = positionals;
  if (!host || !port) {
    process.stderr.write('usage: conn-load.js HOST PORT --seconds S [--concurrency N] [--size N] [--max N] [--timeout MS] [--proxy]\n');
    process.exit(2);
  }
  const r = await connLoad(host, Number(port), {
    seconds: Math.min(60, Math.max(0.1, Number(values.seconds))),
    concurrency: Math.min(1024, Math.max(1, Number(values.concurrency))),
    size: Math.min(65536, Math.max(0, Number(values.size))),
    max: Math.min(1_000_000, Math.max(1, Number(values.max))),
    timeoutMs: Math.min(60_000, Math.max(100, Number(values.timeout))),
    proxy: values.proxy,
    latency: values.latency,
    ...(values.rate !== undefined ? { rate: Math.min(100_000, Math.max(1, Number(values.rate))) } : {}),
  });
  process.stdout.write(JSON.stringify(r) + '\n');
}
