#!/usr/bin/env node
// bench/harness/keepalive-load: the harness's keep-alive driver, run in the lab's client
// namespace: autocannon against the real servers' HTTP service (src/lab/real-server.ts,
// body "<server> <peer>:<port>\n") over a fixed set of persistent connections, so the
// balancer forwards established flows only (no new connection after the first requests).
// Every body is checked to name a lab server ("rs<N> "); anything else counts as a
// mismatch. Several URLs (the "direct" baseline: one per server) share the connections and
// run at once; their counts add up and the latency percentiles are the worst of them.
// Bounded by --seconds; prints one JSON line.
//
//   node dist/bench/harness/keepalive-load.js URL [URL...] --seconds S [--connections 32] [--pipelining 1]

import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { isMainModule } from '../../src/lab/main-module.js';

export interface KeepaliveResult {
  /** Completed 2xx requests with a verified body. */
  ok: number;
  /** Errors, timeouts, non-2xx answers and body mismatches. */
  failed: number;
  requestsPerSec: number;
  /** Latency of one request in ms. */
  latencyP50: number;
  latencyP99: number;
  seconds: number;
}

const SERVER_BODY = /^rs\d+ /;

export async function keepaliveLoad(urls: readonly string[], o: { seconds: number; connections: number; pipelining: number }): Promise<KeepaliveResult> {
  const each = Math.max(1, Math.floor(o.connections / urls.length));
  const runs = await Promise.all(
    urls.map((url) => autocannon({ url, connections: each, pipelining: o.pipelining, duration: o.seconds, timeout: 5, verifyBody: (body) => SERVER_BODY.test(body) })),
  );
  let ok = 0;
  let failed = 0;
  for (const r of runs) {
    failed += r.errors + r.timeouts + r.non2xx + r.mismatches;
    ok += Math.max(0, r['2xx'] - r.mismatches);
  }
  const seconds = Math.max(...runs.map((r) => r.duration));
  return {
    ok,
    failed,
    requestsPerSec: seconds > 0 ? ok / seconds : 0,
    latencyP50: Math.max(...runs.map((r) => r.latency.p50)),
    latencyP99: Math.max(...runs.map((r) => r.latency.p99)),
    seconds,
  };
}

if (isMainModule(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      seconds: { type: 'string', default: '2' },
      connections: { type: 'string', default: '32' },
      pipelining: { type: 'string', default: '1' },
    },
  });
  if (positionals.length === 0 || !positionals.every((u) => /^http:\/\//.test(u))) {
    process.stderr.write('usage: keepalive-load.js http://HOST:PORT/ [URL...] --seconds S [--connections N] [--pipelining N]\n');
    process.exit(2);
  }
  const r = await keepaliveLoad(positionals, {
    seconds: Math.min(60, Math.max(1, Math.round(Number(values.seconds)))),
    connections: Math.min(512, Math.max(1, Number(values.connections))),
    pipelining: Math.min(16, Math.max(1, Number(values.pipelining))),
  });
  process.stdout.write(JSON.stringify(r) + '\n');
}
