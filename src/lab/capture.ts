#!/usr/bin/env node
// Packet captures for lab tests, with the `cap` package (a libpcap binding). See docs/capture.md.
//
// libpcap opens the device in the caller's network namespace, so a capture runs as a small
// process inside the lab namespace (`ip netns exec NS node dist/src/lab/capture.js ...`),
// bounded in packets and in time, printing one JSON object per packet on stdout:
//
//   ip netns exec P-client node dist/src/lab/capture.js --if eth0 --filter 'tcp port 80' --max 50 --seconds 5
//
// Options: --if IFACE (required), --filter EXPR (pcap-filter(7), default: everything),
// --max N (stop after N packets, default 1000), --seconds S (stop after S seconds, default
// 30), --hex-bytes N (bytes of each frame printed as hex, default 128; 0 = whole frame),
// --ready-fd FD (write "ready\n" on that fd once the handle is open; default: a
// {"ready":true,...} line on stderr), --stdin (read frames to inject from stdin, one hex
// line each, sent with pcap_sendpacket once the handle is open; stop when stdin closes, i.e.
// when the parent dies). It also stops on SIGTERM/SIGINT/SIGHUP. Exit status: 0 after a bound or a signal,
// 2 for bad options or a device/filter libpcap refused (message on stderr).
//
// From tests: startCapture(lab, 'client', { iface: 'eth0', filter: 'tcp port 80' }) runs it
// as a tracked lab process and returns { ready, inject(frame), waitFor(pred), stop() → CapturedPacket[] }.

import { createRequire } from 'node:module';
import { readFileSync, realpathSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UvsError } from '../errors.js';
import type { Lab, LabProcess } from './lab.js';

export const CAPTURE_PATH = fileURLToPath(new URL('./capture.js', import.meta.url));

/** One captured frame, as printed by capture.js (one JSON line each). */
export interface CapturedPacket {
  /** Milliseconds since the epoch when the capture process got the frame (libpcap's own timestamp is not exposed by `cap`). */
  ts: number;
  /** Captured length (the whole frame: snaplen is 65535; a GSO super-frame can be longer than the MTU). */
  len: number;
  /** The frame was longer than the capture buffer. */
  truncated: boolean;
  /** 'out' when the source MAC is the interface's own MAC, else 'in'. */
  dir: 'in' | 'out';
  srcMac: string;
  dstMac: string;
  /** EtherType after any 802.1Q tags. */
  ethType: number;
  /** 802.1Q VLAN id (outermost tag), if any. */
  vlan?: number;
  /** Offset of the network header (ARP/IPv4/IPv6) in the frame. */
  l3Offset: number;
  /** 'ipv4' | 'ipv6' | 'arp' | 'other'. */
  net: 'ipv4' | 'ipv6' | 'arp' | 'other';
  /** IP source/destination (ARP: sender/target protocol address). */
  src?: string;
  dst?: string;
  /** 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'sctp' | 'arp' | protocol number as a string. */
  proto?: string;
  /** IPv4 TTL or IPv6 hop limit. */
  ttl?: number;
  /** IPv4 identification. */
  ipId?: number;
  /** IPv4: non-first fragment (no transport header). */
  fragment?: boolean;
  sport?: number;
  dport?: number;
  /** TCP flags as letters in tcpdump's order: F S R P A U E C (e.g. 'S', 'SA', 'R', 'RA', 'FA', 'PA'). */
  tcpFlags?: string;
  seq?: number;
  ack?: number;
  icmpType?: number;
  icmpCode?: number;
  /** ARP operation (1 request, 2 reply). */
  arpOp?: number;
  /** Bytes of transport payload (TCP/UDP) in the captured frame. */
  payloadLen?: number;
  /** The first bytes of the frame (hexBytes, default 128), or the whole frame. */
  hex: string;
}

export interface CaptureOptions {
  /** Interface in the namespace (e.g. 'eth0', 'pub0'). */
  iface: string;
  /** pcap-filter(7) expression; default: every frame. */
  filter?: string;
  /** Stop after this many packets (default 1000). */
  max?: number;
  /** Stop after this many seconds (default 30). */
  seconds?: number;
  /** Bytes of each frame kept as hex (default 128; 0 = the whole frame). */
  hexBytes?: number;
  /** How long to wait for the capture to be ready (default 10 s). */
  readyTimeoutMs?: number;
}

export interface Capture {
  readonly pid: number;
  readonly ns: string;
  readonly iface: string;
  /** Resolves once the pcap handle is open and filtering (packets from then on are seen); rejects with the reason if it cannot start. */
  readonly ready: Promise<void>;
  /** Packets so far (live: grows as lines arrive). */
  readonly packets: readonly CapturedPacket[];
  /** Resolves with every packet when the capture ends on its own (max or seconds). */
  readonly done: Promise<CapturedPacket[]>;
  /**
   * Send a whole Ethernet frame out of the interface (pcap_sendpacket), e.g. an ICMP echo
   * request built with src/packet's buildFrame: the lab has no ping. Call after `ready`.
   * This capture does not see its own frame (the kernel never loops a packet socket's
   * frames back to it); other captures on the path do.
   */
  inject(frame: Uint8Array): void;
  /** Resolves with the first packet matching `pred` (already seen or arriving), or null after timeoutMs / when the capture ends. */
  waitFor(pred: (p: CapturedPacket) => boolean, timeoutMs: number): Promise<CapturedPacket | null>;
  /** Stop now (SIGTERM; SIGKILL after 2 s) and resolve with every packet captured. Idempotent. */
  stop(): Promise<CapturedPacket[]>;
}

let captureSeq = 0;

/**
 * Start a capture in a lab namespace: a tracked lab process (torn down with the lab), which
 * prints JSON lines the returned object collects. Await `ready` before making traffic.
 */
export function startCapture(lab: Lab, ns: string, opts: CaptureOptions): Capture {
  const args = buildArgs(opts);
  const safeIf = opts.iface.replace(/[^A-Za-z0-9_.-]/g, '_');
  const proc: LabProcess = lab.spawn(ns, [process.execPath, CAPTURE_PATH, ...args, '--ready-fd', '3', '--stdin'], {
    name: `capture-${safeIf}-${process.pid}-${++captureSeq}`,
    stdio: 'pipe',
    readyFd: true,
  });
  const packets: CapturedPacket[] = [];
  const waiters = new Set<{ pred: (p: CapturedPacket) => boolean; resolve: (p: CapturedPacket | null) => void }>();
  let stderr = '';
  let rest = '';
  const onLine = (line: string): void => {
    if (line.trim() === '') return;
    let p: CapturedPacket;
    try {
      p = JSON.parse(line) as CapturedPacket;
    } catch {
      stderr += `unparsable line: ${line}\n`;
      return;
    }
    packets.push(p);
    for (const w of [...waiters]) {
      if (w.pred(p)) {
        waiters.delete(w);
        w.resolve(p);
      }
    }
  };
  const stdout = proc.child.stdout!;
  stdout.setEncoding('utf8');
  stdout.on('data', (d: string) => {
    rest += d;
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      onLine(rest.slice(0, nl));
      rest = rest.slice(nl + 1);
    }
  });
  const stdoutEnded = new Promise<void>((resolve) => {
    stdout.once('end', resolve);
    stdout.once('close', resolve);
    stdout.once('error', () => resolve());
  });
  proc.child.stderr!.setEncoding('utf8');
  proc.child.stderr!.on('data', (d: string) => {
    if (stderr.length < 16_384) stderr += d;
  });
  proc.child.stdin?.on('error', () => {});

  const finished = Promise.all([proc.exited, stdoutEnded]).then(([exit]) => {
    onLine(rest);
    rest = '';
    for (const w of waiters) w.resolve(null);
    waiters.clear();
    return exit;
  });
  const done = finished.then(() => [...packets]);

  const readyTimeoutMs = opts.readyTimeoutMs ?? 10_000;
  const fullNs = proc.ns;
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new UvsError('UVS_CAPTURE_START', `capture on ${opts.iface} in ${fullNs} not ready within ${readyTimeoutMs} ms${stderr ? `: ${stderr.trim()}` : ''}`));
      void proc.stop();
    }, readyTimeoutMs);
    proc.ready.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        // Exited before ready: give the reason libpcap printed (stderr may still be arriving).
        void finished.then((exit) => {
          const how = exit.signal ?? `exit code ${exit.code}`;
          reject(new UvsError('UVS_CAPTURE_START', `capture on ${opts.iface} in ${fullNs} failed to start (${how})${stderr ? `: ${stderr.trim()}` : ''}`));
        });
      },
    );
  });
  ready.catch(() => {}); // the caller may only call stop()

  let stopping: Promise<CapturedPacket[]> | null = null;
  const stop = (): Promise<CapturedPacket[]> => {
    stopping ??= (async () => {
      proc.child.stdin?.end();
      await proc.stop(2000);
      await finished;
      return [...packets];
    })();
    return stopping;
  };

  const waitFor = (pred: (p: CapturedPacket) => boolean, timeoutMs: number): Promise<CapturedPacket | null> => {
    const seen = packets.find(pred);
    if (seen) return Promise.resolve(seen);
    if (stopping || proc.child.exitCode !== null || proc.child.signalCode !== null) return Promise.resolve(null);
    return new Promise((resolve) => {
      const w = {
        pred,
        resolve: (p: CapturedPacket | null) => {
          clearTimeout(timer);
          resolve(p);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(w);
        resolve(null);
      }, timeoutMs);
      waiters.add(w);
    });
  };

  const inject = (frame: Uint8Array): void => {
    if (frame.length < 14 || frame.length > 65_535) throw new UvsError('UVS_CAPTURE_BAD_OPTION', `inject: frame of ${frame.length} bytes (14..65535)`);
    const stdin = proc.child.stdin;
    if (!stdin || stdin.destroyed || stdin.writableEnded) throw new UvsError('UVS_CAPTURE_CLOSED', `capture on ${opts.iface} in ${fullNs} has ended`);
    stdin.write(Buffer.from(frame.buffer, frame.byteOffset, frame.length).toString('hex') + '\n');
  };

  return { pid: proc.pid, ns: fullNs, iface: opts.iface, ready, packets, done, inject, waitFor, stop };
}

function buildArgs(o: CaptureOptions): string[] {
  if (typeof o.iface !== 'string' || o.iface === '' || o.iface.length > 15 || /[\s/]/.test(o.iface)) {
    throw new UvsError('UVS_CAPTURE_BAD_OPTION', `capture: bad interface name '${String(o.iface)}'`);
  }
  const args = ['--if', o.iface];
  if (o.filter !== undefined) args.push('--filter', o.filter);
  for (const [flag, v, min] of [
    ['--max', o.max, 1],
    ['--seconds', o.seconds, 0],
    ['--hex-bytes', o.hexBytes, 0],
  ] as const) {
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (flag !== '--seconds' && !Number.isInteger(v))) {
      throw new UvsError('UVS_CAPTURE_BAD_OPTION', `capture: ${flag.slice(2)} must be a number >= ${min}, got ${String(v)}`);
    }
    args.push(flag, String(v));
  }
  return args;
}

// --- decoding (no dependency on src/packet: a capture must decode whatever is on the wire) ----

const hex2 = (b: number): string => (b < 16 ? '0' : '') + b.toString(16);

function mac(b: Uint8Array, o: number): string {
  return `${hex2(b[o]!)}:${hex2(b[o + 1]!)}:${hex2(b[o + 2]!)}:${hex2(b[o + 3]!)}:${hex2(b[o + 4]!)}:${hex2(b[o + 5]!)}`;
}

function ip4(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** RFC 5952 text form (lower case, longest run of zero groups as ::). */
function ip6(b: Uint8Array, o: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[o + 2 * i]! << 8) | b[o + 2 * i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const s = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return s(g);
  return `${s(g.slice(0, best))}::${s(g.slice(best + bestLen))}`;
}

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp' };
const TCP_FLAG_LETTERS: [number, string][] = [
  [0x01, 'F'],
  [0x02, 'S'],
  [0x04, 'R'],
  [0x08, 'P'],
  [0x10, 'A'],
  [0x20, 'U'],
  [0x40, 'E'],
  [0x80, 'C'],
];

export function tcpFlagString(flags: number): string {
  let s = '';
  for (const [bit, letter] of TCP_FLAG_LETTERS) if (flags & bit) s += letter;
  return s;
}

/**
 * Decode an Ethernet frame into a CapturedPacket (everything but ts/dir). Tolerates
 * truncated and malformed frames: fields it cannot read are left out.
 */
export function decodeFrame(frame: Uint8Array, hexBytes = 128): Omit<CapturedPacket, 'ts' | 'dir' | 'truncated'> {
  const n = frame.length;
  const hexLen = hexBytes === 0 ? n : Math.min(n, hexBytes);
  const p: Omit<CapturedPacket, 'ts' | 'dir' | 'truncated'> = {
    len: n,
    srcMac: n >= 12 ? mac(frame, 6) : '',
    dstMac: n >= 6 ? mac(frame, 0) : '',
    ethType: 0,
    l3Offset: 14,
    net: 'other',
    hex: Buffer.from(frame.buffer, frame.byteOffset, hexLen).toString('hex'),
  };
  if (n < 14) return p;
  let off = 12;
  let type = (frame[off]! << 8) | frame[off + 1]!;
  while ((type === 0x8100 || type === 0x88a8) && off + 6 <= n) {
    if (p.vlan === undefined) p.vlan = ((frame[off + 2]! << 8) | frame[off + 3]!) & 0x0fff;
    off += 4;
    type = (frame[off]! << 8) | frame[off + 1]!;
  }
  off += 2;
  p.ethType = type;
  p.l3Offset = off;
  let l4 = -1;
  let proto = -1;
  let l4End = n;
  if (type === 0x0800 && off + 20 <= n) {
    p.net = 'ipv4';
    const ihl = (frame[off]! & 0x0f) * 4;
    p.ttl = frame[off + 8]!;
    p.ipId = (frame[off + 4]! << 8) | frame[off + 5]!;
    proto = frame[off + 9]!;
    p.src = ip4(frame, off + 12);
    p.dst = ip4(frame, off + 16);
    const fragOff = ((frame[off + 6]! << 8) | frame[off + 7]!) & 0x1fff;
    const total = (frame[off + 2]! << 8) | frame[off + 3]!;
    if (total >= ihl && off + total <= n && total > 0) l4End = off + total;
    if (fragOff !== 0) p.fragment = true;
    else if (ihl >= 20) l4 = off + ihl;
  } else if (type === 0x86dd && off + 40 <= n) {
    p.net = 'ipv6';
    p.ttl = frame[off + 7]!;
    p.src = ip6(frame, off + 8);
    p.dst = ip6(frame, off + 24);
    const plen = (frame[off + 4]! << 8) | frame[off + 5]!;
    if (plen > 0 && off + 40 + plen <= n) l4End = off + 40 + plen;
    let next = frame[off + 6]!;
    let h = off + 40;
    // Skip extension headers: hop-by-hop, routing, destination options, fragment.
    for (let guard = 0; guard < 8 && h + 8 <= n; guard++) {
      if (next === 0 || next === 43 || next === 60) {
        const len = (frame[h + 1]! + 1) * 8;
        next = frame[h]!;
        h += len;
      } else if (next === 44) {
        const fo = ((frame[h + 2]! << 8) | frame[h + 3]!) >> 3;
        next = frame[h]!;
        h += 8;
        if (fo !== 0) {
          p.fragment = true;
          h = -1;
          break;
        }
      } else break;
    }
    proto = next;
    l4 = h;
  } else if (type === 0x0806 && off + 28 <= n) {
    p.net = 'arp';
    p.proto = 'arp';
    p.arpOp = (frame[off + 6]! << 8) | frame[off + 7]!;
    p.src = ip4(frame, off + 14);
    p.dst = ip4(frame, off + 24);
    return p;
  } else {
    return p;
  }
  p.proto = PROTO_NAMES[proto] ?? String(proto);
  if (l4 < 0 || l4 > n) return p;
  if (proto === 6 && l4 + 20 <= n) {
    p.sport = (frame[l4]! << 8) | frame[l4 + 1]!;
    p.dport = (frame[l4 + 2]! << 8) | frame[l4 + 3]!;
    p.seq = ((frame[l4 + 4]! << 24) | (frame[l4 + 5]! << 16) | (frame[l4 + 6]! << 8) | frame[l4 + 7]!) >>> 0;
    p.ack = ((frame[l4 + 8]! << 24) | (frame[l4 + 9]! << 16) | (frame[l4 + 10]! << 8) | frame[l4 + 11]!) >>> 0;
    p.tcpFlags = tcpFlagString(frame[l4 + 13]!);
    const doff = (frame[l4 + 12]! >> 4) * 4;
    p.payloadLen = Math.max(0, l4End - l4 - doff);
  } else if ((proto === 17 || proto === 132) && l4 + 8 <= n) {
    p.sport = (frame[l4]! << 8) | frame[l4 + 1]!;
    p.dport = (frame[l4 + 2]! << 8) | frame[l4 + 3]!;
    if (proto === 17) p.payloadLen = Math.max(0, l4End - l4 - 8);
  } else if ((proto === 1 || proto === 58) && l4 + 2 <= n) {
    p.icmpType = frame[l4]!;
    p.icmpCode = frame[l4 + 1]!;
  }
  return p;
}

/**
 * The network header of a captured packet as hex (IPv4: IHL*4 bytes, options included;
 * IPv6: the 40-byte fixed header), or null if it is not IP or not within `hex`. For
 * "the IP header is untouched" checks (DR: only the MACs change).
 */
export function ipHeaderHex(p: CapturedPacket): string | null {
  const at = p.l3Offset * 2;
  let len: number;
  if (p.net === 'ipv4') {
    const vihl = parseInt(p.hex.slice(at, at + 2), 16);
    if (Number.isNaN(vihl)) return null;
    len = (vihl & 0x0f) * 4;
  } else if (p.net === 'ipv6') len = 40;
  else return null;
  if (p.hex.length < at + 2 * len) return null;
  return p.hex.slice(at, at + 2 * len);
}

// --- the capture process --------------------------------------------------------------------

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  on(ev: 'packet', cb: (nbytes: number, truncated: boolean) => void): void;
  close(): boolean;
  send(frame: Buffer, length: number): void;
  setMinBytes?: (n: number) => void;
}

function fail(msg: string): never {
  process.stderr.write(`capture: ${msg}\n`);
  process.exit(2);
}

function main(argv: string[]): void {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        if: { type: 'string' },
        filter: { type: 'string', default: '' },
        max: { type: 'string', default: '1000' },
        seconds: { type: 'string', default: '30' },
        'hex-bytes': { type: 'string', default: '128' },
        'ready-fd': { type: 'string' },
        stdin: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (e) {
    fail(`${(e as Error).message}\nusage: capture.js --if IFACE [--filter EXPR] [--max N] [--seconds S] [--hex-bytes N] [--ready-fd FD] [--stdin]`);
  }
  const iface = values.if as string | undefined;
  if (!iface) fail('--if IFACE is required');
  const num = (name: string, min: number, int: boolean): number => {
    const v = Number(values[name]);
    if (!Number.isFinite(v) || v < min || (int && !Number.isInteger(v))) fail(`--${name} must be ${int ? 'an integer' : 'a number'} >= ${min}, got '${String(values[name])}'`);
    return v;
  };
  const max = num('max', 1, true);
  const seconds = num('seconds', 0, false);
  const hexBytes = num('hex-bytes', 0, true);
  const readyFd = values['ready-fd'] === undefined ? null : num('ready-fd', 0, true);

  let ownMac = '';
  try {
    ownMac = readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim().toLowerCase();
  } catch {
    fail(`no interface '${iface}' in this network namespace`);
  }

  let CapCtor: new () => CapHandle;
  try {
    const require = createRequire(import.meta.url);
    CapCtor = (require('cap') as { Cap: new () => CapHandle }).Cap;
  } catch (e) {
    fail(`cannot load the 'cap' package (libpcap binding; needs libpcap and a built node_modules/cap): ${(e as Error).message}`);
  }
  const cap = new CapCtor();
  const buffer = Buffer.alloc(65_536 + 4096);
  let linkType: string;
  try {
    linkType = cap.open(iface, String(values.filter ?? ''), 4 * 1024 * 1024, buffer);
  } catch (e) {
    fail(`cannot capture on ${iface}${values.filter ? ` with filter '${String(values.filter)}'` : ''}: ${(e as Error).message}`);
  }
  if (linkType !== 'ETHERNET') {
    cap.close();
    fail(`${iface}: link type ${linkType} (only Ethernet is decoded)`);
  }

  let count = 0;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  const finish = (reason: string): void => {
    if (closed) return;
    closed = true;
    if (timer) clearTimeout(timer);
    try {
      cap.close();
    } catch {
      /* already closed */
    }
    process.stderr.write(`${JSON.stringify({ done: true, reason, packets: count })}\n`);
    process.exit(0);
  };
  cap.on('packet', (nbytes, truncated) => {
    if (closed) return;
    const frame = buffer.subarray(0, nbytes);
    const d = decodeFrame(frame, hexBytes);
    const pkt: CapturedPacket = { ts: Date.now(), ...d, truncated, dir: d.srcMac === ownMac ? 'out' : 'in' };
    // Synchronous write on fd 1 (a pipe or a file): nothing is lost when we exit below.
    if (!writeOut(JSON.stringify(pkt) + '\n')) return finish('stdout closed');
    if (++count >= max) finish('max');
  });
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => finish(sig));
  if (seconds > 0) timer = setTimeout(() => finish('seconds'), seconds * 1000);
  if (values.stdin) {
    // One frame per line, hex. Sent in order; a bad line is reported and skipped.
    let pending = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d: string) => {
      pending += d;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line === '' || closed) continue;
        if (!/^([0-9a-fA-F]{2})+$/.test(line) || line.length < 28) {
          process.stderr.write(`capture: inject: not a hex frame: ${line.slice(0, 40)}\n`);
          continue;
        }
        const frame = Buffer.from(line, 'hex');
        try {
          cap.send(frame, frame.length);
        } catch (e) {
          process.stderr.write(`capture: inject on ${iface}: ${(e as Error).message}\n`);
        }
      }
    });
    process.stdin.on('end', () => finish('eof'));
    process.stdin.on('error', () => finish('eof'));
  }
  const readyMsg = JSON.stringify({ ready: true, iface, filter: values.filter, linkType, pid: process.pid });
  if (readyFd !== null) {
    try {
      writeSync(readyFd, 'ready\n');
    } catch {
      /* parent not listening */
    }
  } else process.stderr.write(readyMsg + '\n');
}

/** Write all of `s` to fd 1, retrying on EAGAIN; false if the reader is gone (EPIPE). */
function writeOut(s: string): boolean {
  let buf = Buffer.from(s);
  for (let tries = 0; buf.length > 0; ) {
    try {
      const n = writeSync(1, buf);
      buf = buf.subarray(n);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' && ++tries < 10_000) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        continue;
      }
      return false;
    }
  }
  return true;
}

function isMain(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) main(process.argv.slice(2));
