// ICMP echo check: keepalived's PING_CHECK (check/check_ping.c), through the raw-socket
// package. Up when an echo reply comes back from the server within the timeout.
//
// One raw socket per address family serves every ICMP check of the process: requests carry
// this process's identifier and a sequence number, and replies are matched back by
// (identifier, sequence, source). The socket is opened by the first check in flight and
// closed when none is left, so an idle process holds no raw socket. An ICMP error quoting
// one of our requests (destination unreachable, time exceeded) fails that check at once.
// Needs CAP_NET_RAW.

import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import type * as RawSocketModule from 'raw-socket';
import type { HealthCheck } from '../../config/model.js';
import type { CheckResult, CheckTarget, Checker } from '../checker.js';
import { endpointOf, messageOf, runCheck, step, timeoutOf, type CheckRun, type Verdict } from './common.js';

type Family = 4 | 6;
type RawSocket = RawSocketModule.Socket;

const ICMP = {
  4: { echoRequest: 8, echoReply: 0, unreachable: 3, timeExceeded: 11 },
  6: { echoRequest: 128, echoReply: 129, unreachable: 1, timeExceeded: 3 },
} as const;

const UNREACHABLE_CODES: Record<Family, Record<number, string>> = {
  4: { 0: 'network unreachable', 1: 'host unreachable', 2: 'protocol unreachable', 3: 'port unreachable', 9: 'network prohibited', 10: 'host prohibited', 13: 'administratively prohibited' },
  6: { 0: 'no route', 1: 'administratively prohibited', 3: 'address unreachable', 4: 'port unreachable' },
};

/** Our echo identifier: requests of other processes (ping, another uvsd) are not ours. */
const IDENTIFIER = process.pid & 0xffff;
const PAYLOAD = Buffer.from('uvs health check');

let rawSocketModule: Promise<typeof RawSocketModule | string> | undefined;

/** raw-socket is native: load it on first use, so a build without it fails ICMP checks only. */
function loadRawSocket(): Promise<typeof RawSocketModule | string> {
  rawSocketModule ??= import('raw-socket').then(
    (m) => m,
    (err: unknown) => `ICMP unavailable: raw-socket did not load (${messageOf(err)})`,
  );
  return rawSocketModule;
}

function normalized(address: string): string {
  try {
    return ipaddr.process(address).toNormalizedString();
  } catch {
    return address;
  }
}

interface InFlight {
  address: string;
  answer(verdict: Verdict): void;
}

/** The shared raw socket of one family and the echo requests in flight on it. */
class EchoSocket {
  private socket: RawSocket | undefined;
  private readonly inFlight = new Map<number, InFlight>();
  private sequence = 0;

  constructor(private readonly family: Family) {}

  async ping(run: CheckRun, address: string): Promise<Verdict> {
    const raw = await loadRawSocket();
    if (typeof raw === 'string') return { ok: false, reason: raw };
    let socket: RawSocket;
    try {
      socket = this.open(raw);
    } catch (err) {
      return { ok: false, reason: `cannot open an ICMP socket: ${messageOf(err)}` };
    }
    const sequence = this.nextSequence();
    if (sequence === undefined) return { ok: false, reason: 'too many echo requests in flight' };
    const request = this.request(raw, sequence);
    return step<Verdict>(
      run,
      () => `no echo reply (${run.stoppedReason('').trim()})`,
      (answer) => {
        this.inFlight.set(sequence, { address: normalized(address), answer });
        socket.send(request, 0, request.length, address, (err) => {
          if (err) answer({ ok: false, reason: `cannot send echo request: ${messageOf(err)}` });
        });
        return () => {
          this.inFlight.delete(sequence);
          this.closeIfIdle();
        };
      },
    );
  }

  private open(raw: typeof RawSocketModule): RawSocket {
    if (this.socket !== undefined) return this.socket;
    const socket = raw.createSocket({
      protocol: this.family === 4 ? raw.Protocol.ICMP : raw.Protocol.ICMPv6,
      addressFamily: this.family === 4 ? raw.AddressFamily.IPv4 : raw.AddressFamily.IPv6,
    });
    socket.on('message', (packet, source) => this.received(packet, source));
    socket.on('error', (err) => {
      // raw-socket closes the socket after an error: every check on it fails, the next opens a new one.
      if (this.socket === socket) this.socket = undefined;
      for (const pending of [...this.inFlight.values()]) pending.answer({ ok: false, reason: `ICMP socket error: ${messageOf(err)}` });
    });
    this.socket = socket;
    return socket;
  }

  private closeIfIdle(): void {
    if (this.inFlight.size > 0 || this.socket === undefined) return;
    const socket = this.socket;
    this.socket = undefined;
    try {
      socket.close();
    } catch {
      /* already closed after an error */
    }
  }

  private nextSequence(): number | undefined {
    for (let tries = 0; tries < 0x10000; tries++) {
      this.sequence = (this.sequence + 1) & 0xffff;
      if (!this.inFlight.has(this.sequence)) return this.sequence;
    }
    return undefined;
  }

  /** An echo request; ICMPv6's checksum is the kernel's (it covers a pseudo-header). */
  private request(raw: typeof RawSocketModule, sequence: number): Buffer {
    const packet = Buffer.alloc(8 + PAYLOAD.length);
    packet[0] = ICMP[this.family].echoRequest;
    packet.writeUInt16BE(IDENTIFIER, 4);
    packet.writeUInt16BE(sequence, 6);
    PAYLOAD.copy(packet, 8);
    if (this.family === 4) raw.writeChecksum(packet, 2, raw.createChecksum(packet));
    return packet;
  }

  /** Every ICMP message the host receives comes here (IPv4 with its IP header, IPv6 without). */
  private received(packet: Buffer, source: string): void {
    const types = ICMP[this.family];
    const icmp = this.family === 4 ? packet.subarray((packet[0]! & 0x0f) * 4) : packet;
    if (icmp.length < 8) return;
    const type = icmp[0]!;
    if (type === types.echoReply) {
      const pending = this.ours(icmp);
      if (pending !== undefined && pending.address === normalized(source)) pending.answer({ ok: true, reason: 'echo reply' });
      return;
    }
    if (type !== types.unreachable && type !== types.timeExceeded) return;
    // The error quotes the request's IP header and the first 8 bytes of its ICMP header.
    const quoted = icmp.subarray(8);
    const inner = this.family === 4 ? quoted.subarray((quoted[0]! & 0x0f) * 4) : quoted.subarray(40);
    if (inner.length < 8 || inner[0] !== types.echoRequest) return;
    const pending = this.ours(inner);
    if (pending === undefined) return;
    const what = type === types.timeExceeded ? 'time exceeded' : `unreachable: ${UNREACHABLE_CODES[this.family][icmp[1]!] ?? `code ${icmp[1]}`}`;
    pending.answer({ ok: false, reason: `${what} (ICMP from ${source})` });
  }

  /** The request in flight an echo header (reply, or quoted in an error) refers to. */
  private ours(echo: Buffer): InFlight | undefined {
    if (echo.readUInt16BE(4) !== IDENTIFIER) return undefined;
    return this.inFlight.get(echo.readUInt16BE(6));
  }
}

const echoSockets: Record<Family, EchoSocket> = { 4: new EchoSocket(4), 6: new EchoSocket(6) };

export class IcmpChecker implements Checker {
  readonly kind = 'icmp';

  constructor(private readonly spec: HealthCheck) {}

  run(target: CheckTarget, signal: AbortSignal): Promise<CheckResult> {
    return runCheck(timeoutOf(this.spec), signal, async (run) => {
      const { address } = endpointOf(this.spec, target);
      const family = isIP(address);
      if (family === 0) return { ok: false, reason: `not an IP address: ${address}` };
      return echoSockets[family as Family].ping(run, address);
    });
  }
}
