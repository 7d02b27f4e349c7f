// The decapsulator's datapath: an AF_PACKET socket (TPACKET_V3 RX ring, virtio-net headers,
// a classic-BPF filter that lets only tunnelled IPv4 frames addressed to this host in) on
// the server's interface, DecapCore per frame, and one write(2) per inner packet into a TUN
// fd straight from the ring. Blocks are taken and released whole; nothing is allocated per
// packet (a failed write allocates its Error, and is counted).

import { writeSync } from 'node:fs';
import { assemble } from '../frameio/bpf.js';
import { TP_STATUS_CSUMNOTREADY } from '../frameio/constants.js';
import { FrameSocket, type RxRingOptions } from '../frameio/frame-socket.js';
import type { RxRing } from '../frameio/rx-ring.js';
import { ip4FromString } from '../packet/addr.js';
import { isIPv4 } from 'node:net';
import { UvsError } from '../errors.js';
import { DECAPSULATED, DecapCore, type DecapCoreOptions, type DecapStats, type FrameMeta } from './core.js';
import { DECAP_ERROR_CODES } from './tun.js';

/** Addresses checked in the BPF filter; beyond this the filter checks only PACKET_HOST. */
export const MAX_FILTER_ADDRESSES = 64;

/**
 * The socket filter: PACKET_HOST frames (addressed to our MAC), EtherType IPv4, IP protocol
 * 4 (and 41 with sixInFour), destination one of `localAddresses` (any when empty or more
 * than MAX_FILTER_ADDRESSES). Offsets are from the Ethernet header of an untagged frame
 * (a VLAN tag the driver stripped is not in the frame the filter sees).
 */
export function decapFilterSource(localAddresses: string[], sixInFour: boolean): string {
  const lines = ['        ld #type', '        jneq #0, drop           ; PACKET_HOST only', '        ldh [12]', '        jneq #0x800, drop', '        ldb [23]'];
  if (sixInFour) lines.push('        jeq #4, proto', '        jeq #41, proto', '        ja drop');
  else lines.push('        jneq #4, drop');
  lines.push('proto:  ld [30]                 ; outer destination');
  const addrs = localAddresses.length <= MAX_FILTER_ADDRESSES ? localAddresses : [];
  if (addrs.length > 0) {
    for (const a of addrs) {
      if (!isIPv4(a)) throw new UvsError(DECAP_ERROR_CODES.BAD_OPTION, `local address ${JSON.stringify(a)} is not IPv4`);
      lines.push(`        jeq #${ip4FromString(a) >>> 0}, accept   ; ${a}`);
    }
    lines.push('        ja drop');
  }
  lines.push('accept: ret #262144', 'drop:   ret #0');
  return lines.join('\n');
}

export interface DecapsulatorOptions extends DecapCoreOptions {
  /** Interface the tunnelled packets arrive on. */
  ifname: string;
  /** TUN fd from openTun(name, { vnetHdr: true }). Not closed by the decapsulator. */
  tunFd: number;
  /** Outer destinations accepted (IPv4). Empty: any frame for our MAC. */
  localAddresses: string[];
  /** RX ring geometry (default 8 blocks of 1 MiB, 1 ms retire timeout). */
  rx?: RxRingOptions;
}

export class Decapsulator {
  readonly ifname: string;
  readonly core: DecapCore;
  readonly socket: FrameSocket;
  readonly localAddresses: string[];
  /** errno name of the last failed TUN write (for the report). */
  lastWriteError = '';
  private readonly rx: RxRing;
  private readonly tunFd: number;
  private readonly meta: FrameMeta = { wireLength: 0, csumPartial: false, csumStart: -1, csumOffset: 0, gsoType: 0, gsoSize: 0, hdrLen: 0 };
  private ringDrops = 0;

  constructor(options: DecapsulatorOptions) {
    this.ifname = options.ifname;
    this.core = new DecapCore(options);
    this.tunFd = options.tunFd;
    this.localAddresses = [...options.localAddresses];
    const filter = assemble(decapFilterSource(this.localAddresses, this.core.sixInFour));
    this.socket = FrameSocket.open(options.ifname, {
      vnetHdr: true,
      ignoreOutgoing: true,
      rx: { blockSize: 1 << 20, blockCount: 8, retireTimeoutMs: 1, ...options.rx },
      tx: false,
      filter,
    });
    this.rx = this.socket.rx!;
  }

  /**
   * Waits up to timeoutMs for frames (poll(2), blocking this thread) and handles every
   * block that is ready (at most one pass over the ring). Returns the frames handled.
   */
  runOnce(timeoutMs: number): number {
    const rx = this.rx;
    if (!rx.wait(timeoutMs)) return 0;
    const core = this.core;
    const m = this.meta;
    const bytes = rx.bytes;
    let n = 0;
    for (let blocks = 0; blocks < rx.blockCount && rx.ready(); blocks++) {
      if (rx.nextBlock() === 0) break;
      while (rx.nextFrame()) {
        n++;
        m.wireLength = rx.wireLength;
        m.csumPartial = (rx.status & TP_STATUS_CSUMNOTREADY) !== 0;
        if (rx.vnetOffset >= 0) {
          m.csumStart = rx.csumStart;
          m.csumOffset = rx.csumOffset;
          m.gsoType = rx.gsoType;
          m.gsoSize = rx.gsoSize;
          m.hdrLen = rx.vnetHdrLen;
        }
        if (core.process(bytes, rx.frameOffset, rx.frameLength, m) !== DECAPSULATED) continue;
        try {
          if (writeSync(this.tunFd, bytes, core.writeOffset, core.writeLength) === core.writeLength) core.wrote();
          else core.writeFailed();
        } catch (err) {
          core.writeFailed();
          this.lastWriteError = (err as { code?: string }).code ?? String(err);
        }
      }
      rx.releaseBlock();
    }
    return n;
  }

  /** Counters, plus the socket's ring drops (PACKET_STATISTICS, accumulated). */
  stats(): DecapStats & { ringDrops: number; lastWriteError?: string } {
    if (!this.socket.closed) this.ringDrops += this.socket.stats().drops;
    const s: DecapStats & { ringDrops: number; lastWriteError?: string } = { ...this.core.stats(), ringDrops: this.ringDrops };
    if (this.lastWriteError) s.lastWriteError = this.lastWriteError;
    return s;
  }

  close(): void {
    if (!this.socket.closed) {
      try {
        this.ringDrops += this.socket.stats().drops;
      } catch {
        // closing anyway
      }
    }
    this.socket.close();
  }
}
