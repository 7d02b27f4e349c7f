// Runs the C new-connections client (bench/c/conn-blast.c) in a lab namespace and reads its
// one JSON line: the driver of the harness's conns and latency scenarios and of the worker
// profiler. Each connection sends SIZE random bytes, half-closes, and counts only when the
// identify line came, the echo matched and (unless `proxy`) the server saw the client's own
// address; bounded by `seconds` and `max` starts.

import type { Lab } from '../../src/lab/index.js';
import { cTools } from './c-tools.js';

export interface Percentiles {
  n: number;
  p50: number;
  p99: number;
  p999: number;
}

export interface ConnLoadResult {
  ok: number;
  failed: number;
  errors: Record<string, number>;
  servers: Record<string, number>;
  ms: number;
  /** With `latency`: percentiles in ms of verified connections, from each one's start. */
  latency?: { connect: Percentiles; firstByte: Percentiles };
  /** Open loop: starts skipped because `concurrency` were in flight. */
  dropped?: number;
}

export interface ConnBlastOptions {
  /** Addresses taken in turn. */
  hosts: readonly string[];
  port: number;
  seconds: number;
  /** In flight at most (closed loop: always). Default 64. */
  concurrency?: number;
  /** Starts per second (open loop); none: closed loop. */
  rate?: number;
  latency?: boolean;
  /** The balancer terminates TCP: do not check the address the server saw. */
  proxy?: boolean;
  /** Request bytes. Default 16. */
  size?: number;
}

/** One run of the client from namespace `ns`; throws when it printed no result. */
export async function connBlast(lab: Lab, ns: string, o: ConnBlastOptions): Promise<ConnLoadResult> {
  const argv = [cTools().conn, o.hosts.join(','), String(o.port), String(o.seconds), String(o.concurrency ?? 64), String(o.size ?? 16), String(o.rate ?? 0), o.latency ? '1' : '0', o.proxy ? '1' : '0', '5000', '1000000'];
  const out = await lab.exec(ns, argv, { timeoutMs: (o.seconds + 30) * 1000 }).catch((e: unknown) => (e as { stdout?: string }).stdout ?? '');
  const r = JSON.parse(out.trim().split('\n').pop() || '{}') as Partial<ConnLoadResult>;
  if (typeof r.ok !== 'number') throw new Error(`connections client gave no result: ${out.slice(-300)}`);
  return r as ConnLoadResult;
}
