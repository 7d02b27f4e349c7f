// FrameSocket: one AF_PACKET socket bound to an interface, with its RX and TX rings
// (TPACKET_V3, or TPACKET_V2 for a wakeup per frame), fanout membership, socket filter and
// statistics.

import { UvsError } from '../errors.js';
import {
  ETH_P_ALL,
  PACKET_FANOUT_CBPF,
  PACKET_FANOUT_CPU,
  PACKET_FANOUT_FLAG_DEFRAG,
  PACKET_FANOUT_FLAG_IGNORE_OUTGOING,
  PACKET_FANOUT_FLAG_ROLLOVER,
  PACKET_FANOUT_FLAG_UNIQUEID,
  PACKET_FANOUT_HASH,
  PACKET_FANOUT_LB,
  PACKET_FANOUT_QM,
  PACKET_FANOUT_RND,
  PACKET_FANOUT_ROLLOVER,
} from './constants.js';
import { callNative, FRAMEIO_ERROR_CODES, invalidArgument } from './errors.js';
import type { SocketHandle } from './handle.js';
import { loadNative, type NativeBinding, type NativeLayout, type NativeOpenOptions, type NativeStats } from './native.js';
import { RxRing, ringMemory, type RingMemory } from './rx-ring.js';
import { TxRing } from './tx-ring.js';

export interface RxRingOptions {
  /** Block size in bytes, a multiple of the page size. Default 1 MiB (fits 64 KiB GSO frames). */
  blockSize?: number;
  /** Number of blocks. Default 8. */
  blockCount?: number;
  /** V3: tp_frame_size hint (multiple of 16, >= 68). V2: the slot size; a frame needs 76 bytes of header room with vnetHdr. Default 2048. */
  frameSize?: number;
  /** V3: a partly filled block is handed to user space after this many ms. Default 2. */
  retireTimeoutMs?: number;
  /** V3: ask the kernel to fill tp_rxhash (TP_FT_REQ_FILL_RXHASH). */
  rxHash?: boolean;
  /**
   * 3 (default): TPACKET_V3, frames packed into blocks handed over when full or when the
   * retire timer fires (jiffy granularity: latency under light load). 2: TPACKET_V2, one
   * frame per slot of frameSize bytes, handed over (and the reader woken) frame by frame.
   * The TX ring of the socket uses the same version.
   */
  version?: 2 | 3;
  /**
   * V2: a frame too big for its slot is also queued whole to the socket (PACKET_COPY_THRESH)
   * and read into the ring's spill buffer by nextFrame() (frameBytes = spill). Lets small
   * slots carry GSO super-frames.
   */
  spill?: boolean;
}

export interface TxRingOptions {
  /** Slot size (multiple of 16). Default 2048; use TX_GSO_FRAME_SIZE (65616) for GSO TX. */
  frameSize?: number;
  /** Number of slots (rounded up to whole blocks). Default 256. */
  frameCount?: number;
  /** Block size (page multiple). Default: next power of two >= frameSize (1 MiB when >= 8 KiB). */
  blockSize?: number;
}

export interface FrameSocketOptions {
  /** EtherType to receive (host order). Default ETH_P_ALL, or 0 (receive nothing) with rx: false. */
  protocol?: number;
  /** PACKET_VNET_HDR: RX frames are preceded by and TX frames start with a virtio_net_hdr. */
  vnetHdr?: boolean;
  /** PACKET_IGNORE_OUTGOING: do not see frames this host transmits on the interface. */
  ignoreOutgoing?: boolean;
  /** PACKET_QDISC_BYPASS: TX goes straight to the driver (no qdisc, no taps see it). */
  qdiscBypass?: boolean;
  /** RX ring options, or false for no RX ring. */
  rx?: RxRingOptions | false;
  /** TX ring options, or false for no TX ring. */
  tx?: TxRingOptions | false;
  /** Classic BPF filter attached before the socket is bound (no unfiltered frame slips in). */
  filter?: Uint32Array;
  /** SO_SNDBUF(FORCE) bytes. */
  sendBufferSize?: number;
  /** SO_RCVBUF(FORCE) bytes. */
  receiveBufferSize?: number;
}

export type FanoutMode = 'hash' | 'lb' | 'cpu' | 'rollover' | 'random' | 'queue' | 'cbpf';

export interface FanoutOptions {
  /** Fall over to another socket when this one's ring is full. */
  rollover?: boolean;
  /** Reassemble IP fragments before hashing (so fragments of one datagram go to one socket). */
  defrag?: boolean;
  /** Let the kernel pick an unused group id (groupId must be 0). */
  uniqueId?: boolean;
  /** Do not deliver outgoing frames to the group. */
  ignoreOutgoing?: boolean;
  /** Group capacity (kernel >= 5.9; default 256). All members must pass the same value. */
  maxMembers?: number;
}

export type FrameSocketStats = NativeStats;

/** Rings of several sockets in one buffer (FrameSocket.combineRings). */
export interface CombinedRings {
  memory: RingMemory;
  /** By socket: its RX / TX ring over the combined buffer (null where it has none). */
  rx: (RxRing | null)[];
  tx: (TxRing | null)[];
  /** Detaches the combined buffer (unmapped when collected); the rings must not be used after. */
  release(): void;
}

const FANOUT_MODES: Record<FanoutMode, number> = {
  hash: PACKET_FANOUT_HASH,
  lb: PACKET_FANOUT_LB,
  cpu: PACKET_FANOUT_CPU,
  rollover: PACKET_FANOUT_ROLLOVER,
  random: PACKET_FANOUT_RND,
  queue: PACKET_FANOUT_QM,
  cbpf: PACKET_FANOUT_CBPF,
};

function checkUint(name: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= 0xffffffff))
    throw invalidArgument(`${name} must be an integer in 0..4294967295, got ${String(v)}`);
}

function toNativeOptions(o: FrameSocketOptions): NativeOpenOptions {
  if (o.protocol !== undefined && !(Number.isInteger(o.protocol) && o.protocol >= 0 && o.protocol <= 0xffff))
    throw invalidArgument(`protocol must be a 16-bit EtherType, got ${String(o.protocol)}`);
  if (o.rx) {
    checkUint('rx.blockSize', o.rx.blockSize);
    checkUint('rx.blockCount', o.rx.blockCount);
    checkUint('rx.frameSize', o.rx.frameSize);
    checkUint('rx.retireTimeoutMs', o.rx.retireTimeoutMs);
  }
  if (o.tx) {
    checkUint('tx.frameSize', o.tx.frameSize);
    checkUint('tx.frameCount', o.tx.frameCount);
    checkUint('tx.blockSize', o.tx.blockSize);
  }
  checkUint('sendBufferSize', o.sendBufferSize);
  checkUint('receiveBufferSize', o.receiveBufferSize);
  const n: NativeOpenOptions = {
    // A TX-only socket binds protocol 0: it is attached to the interface for sending but no
    // frame is ever queued to it (with ETH_P_ALL it would fill its receive queue for nothing).
    protocol: o.protocol ?? (o.rx === false ? 0 : ETH_P_ALL),
    vnetHdr: o.vnetHdr ?? false,
    ignoreOutgoing: o.ignoreOutgoing ?? false,
    qdiscBypass: o.qdiscBypass ?? false,
  };
  if (o.rx === false) n.rxBlockCount = 0;
  else if (o.rx) {
    if (o.rx.blockSize !== undefined) n.rxBlockSize = o.rx.blockSize;
    if (o.rx.blockCount !== undefined) {
      if (o.rx.blockCount < 1) throw invalidArgument('rx.blockCount must be >= 1 (use rx: false for no ring)');
      n.rxBlockCount = o.rx.blockCount;
    }
    if (o.rx.frameSize !== undefined) n.rxFrameSize = o.rx.frameSize;
    if (o.rx.retireTimeoutMs !== undefined) n.rxRetireTimeoutMs = o.rx.retireTimeoutMs;
    if (o.rx.rxHash !== undefined) n.rxHash = o.rx.rxHash;
    if (o.rx.version !== undefined) {
      if (o.rx.version !== 2 && o.rx.version !== 3) throw invalidArgument(`rx.version must be 2 or 3, got ${String(o.rx.version)}`);
      n.rxVersion = o.rx.version;
    }
    if (o.rx.spill !== undefined) {
      if (o.rx.spill && o.rx.version !== 2) throw invalidArgument('rx.spill needs rx.version 2');
      n.rxSpill = o.rx.spill;
    }
  }
  if (o.tx === false) n.txFrameCount = 0;
  else if (o.tx) {
    if (o.tx.frameSize !== undefined) n.txFrameSize = o.tx.frameSize;
    if (o.tx.frameCount !== undefined) {
      if (o.tx.frameCount < 1) throw invalidArgument('tx.frameCount must be >= 1 (use tx: false for no ring)');
      n.txFrameCount = o.tx.frameCount;
    }
    if (o.tx.blockSize !== undefined) n.txBlockSize = o.tx.blockSize;
  }
  if (o.filter) n.filter = o.filter;
  if (o.sendBufferSize !== undefined) n.sendBufferSize = o.sendBufferSize;
  if (o.receiveBufferSize !== undefined) n.receiveBufferSize = o.receiveBufferSize;
  return n;
}

/** Ring header offsets for a socket of TPACKET version `version` (2: tpacket2_hdr frames, no tp_next_offset). */
function layoutFor(native: NativeBinding, version: number): NativeLayout {
  return version === 2 ? { ...native.layout, ...native.layoutV2, nextOffset: -1, rxhash: -1 } : native.layout;
}

export class FrameSocket {
  readonly fd: number;
  readonly ifname: string;
  readonly ifindex: number;
  readonly protocol: number;
  readonly vnetHdr: boolean;
  /** TPACKET version of both rings (3, or 2). */
  readonly version: number;
  readonly rx: RxRing | null;
  readonly tx: TxRing | null;
  private readonly handle: SocketHandle;

  private constructor(handle: SocketHandle, ifindex: number, protocol: number, vnetHdr: boolean, version: number, rx: RxRing | null, tx: TxRing | null) {
    this.handle = handle;
    this.fd = handle.fd;
    this.ifname = handle.ifname;
    this.ifindex = ifindex;
    this.protocol = protocol;
    this.vnetHdr = vnetHdr;
    this.version = version;
    this.rx = rx;
    this.tx = tx;
  }

  /**
   * Opens an AF_PACKET socket on `ifname` (in the caller's network namespace), sets it up
   * and binds it. Throws SystemError UVS_FRAMEIO_NO_INTERFACE / _PERMISSION / _RING / ....
   */
  static open(ifname: string, options: FrameSocketOptions = {}): FrameSocket {
    if (typeof ifname !== 'string' || ifname.length === 0 || ifname.length > 15)
      throw invalidArgument(`interface name must be 1..15 characters, got ${JSON.stringify(ifname)}`);
    const native: NativeBinding = loadNative();
    const nopts = toNativeOptions(options);
    const s = callNative(ifname, () => native.open(ifname, nopts));
    const handle: SocketHandle = { fd: s.fd, ifname, native, closed: false };
    const layout = layoutFor(native, s.tpVersion);
    const rx = s.rxRing
      ? new RxRing(
          handle,
          ringMemory(s.rxRing),
          {
            blockSize: s.rxBlockSize,
            blockCount: s.rxBlockCount,
            frameSize: s.rxFrameSize,
            retireTimeoutMs: s.rxRetireTimeoutMs,
            vnetHdrLength: s.vnetHdrLength,
            version: s.tpVersion,
            framesPerBlock: s.rxFramesPerBlock,
            spill: s.rxSpill,
          },
          layout,
        )
      : null;
    const tx = s.txRing
      ? new TxRing(
          handle,
          ringMemory(s.txRing),
          {
            frameSize: s.txFrameSize,
            frameCount: s.txFrameCount,
            blockSize: s.txBlockSize,
            framesPerBlock: s.txFramesPerBlock,
            dataOffset: s.txDataOffset,
            vnetHdrLength: s.vnetHdrLength,
          },
          layout,
        )
      : null;
    return new FrameSocket(handle, s.ifindex, s.protocol, s.vnetHdr, s.tpVersion ?? 3, rx, tx);
  }

  /**
   * Maps the rings of `sockets` side by side into ONE buffer and returns ring objects over it
   * (same geometry, own cursors), so a frame moves from one socket's RX ring to another's TX
   * ring with a single copyWithin and no view per frame. Use the returned rings instead of
   * the sockets' own; call release() before closing the sockets.
   */
  static combineRings(sockets: readonly FrameSocket[]): CombinedRings {
    const native = loadNative();
    const fds = Int32Array.from(sockets, (s) => s.fd);
    const names = sockets.map((s) => s.ifname).join(',');
    const { buffer, offsets } = callNative(names, () => native.mapCombined(fds));
    const memory = ringMemory(buffer);
    const rx = sockets.map((s, i) => {
      const r = s.rx;
      if (!r || offsets[2 * i]! < 0) return null;
      const geometry = { blockSize: r.blockSize, blockCount: r.blockCount, frameSize: r.frameSize, retireTimeoutMs: r.retireTimeoutMs, vnetHdrLength: r.vnetHdrLength, version: r.version, framesPerBlock: Math.floor(r.blockSize / r.frameSize), spill: r.spill !== null };
      return new RxRing(s.handle, memory, geometry, layoutFor(native, r.version), offsets[2 * i]!);
    });
    const tx = sockets.map((s, i) => {
      const t = s.tx;
      if (!t || offsets[2 * i + 1]! < 0) return null;
      return new TxRing(s.handle, memory, { frameSize: t.frameSize, frameCount: t.frameCount, blockSize: t.blockSize, framesPerBlock: t.framesPerBlock, dataOffset: t.dataOffset, vnetHdrLength: t.vnetHdrLength }, layoutFor(native, s.version), offsets[2 * i + 1]!);
    });
    return { memory, rx, tx, release: () => native.releaseCombined(buffer) };
  }

  get closed(): boolean {
    return this.handle.closed;
  }

  private check(): void {
    if (this.handle.closed)
      throw new UvsError(FRAMEIO_ERROR_CODES.CLOSED, `frame socket on ${this.ifname} is closed`);
  }

  /**
   * Joins fanout group `groupId` (per network namespace). All members must be bound to the
   * same interface and protocol and use the same mode and flags. With 'cbpf', call
   * setFanoutProgram() afterwards: its return value picks the member (modulo group size,
   * members numbered in join order). Returns the group id (the kernel's pick with uniqueId).
   */
  joinFanout(groupId: number, mode: FanoutMode, options: FanoutOptions = {}): number {
    this.check();
    const m = FANOUT_MODES[mode];
    if (m === undefined) throw invalidArgument(`unknown fanout mode ${String(mode)}`);
    let flags = 0;
    if (options.rollover) flags |= PACKET_FANOUT_FLAG_ROLLOVER;
    if (options.defrag) flags |= PACKET_FANOUT_FLAG_DEFRAG;
    if (options.uniqueId) flags |= PACKET_FANOUT_FLAG_UNIQUEID;
    if (options.ignoreOutgoing) flags |= PACKET_FANOUT_FLAG_IGNORE_OUTGOING;
    if (!(Number.isInteger(groupId) && groupId >= 0 && groupId <= 0xffff))
      throw invalidArgument(`fanout group id must be 0..65535, got ${String(groupId)}`);
    return callNative(this.ifname, () => this.handle.native.fanout(this.fd, groupId, m, flags, options.maxMembers ?? 0));
  }

  /** Sets the classic BPF steering program of this socket's cbpf fanout group. */
  setFanoutProgram(program: Uint32Array): void {
    this.check();
    callNative(this.ifname, () => this.handle.native.setFanoutProgram(this.fd, program));
  }

  /** SO_ATTACH_FILTER: the program's return value is the snap length (0 drops the frame). */
  attachFilter(program: Uint32Array): void {
    this.check();
    callNative(this.ifname, () => this.handle.native.attachFilter(this.fd, program));
  }

  detachFilter(): void {
    this.check();
    callNative(this.ifname, () => this.handle.native.detachFilter(this.fd));
  }

  /**
   * PACKET_STATISTICS since the previous call (the kernel resets them on read): packets
   * (including dropped ones), drops (ring full), freezeQueueCount (times the ring was full).
   */
  stats(): FrameSocketStats {
    this.check();
    return callNative(this.ifname, () => this.handle.native.stats(this.fd));
  }

  /**
   * Unmaps the rings and closes the socket. Idempotent. The rings' `bytes`/`view` are detached
   * (zero length) afterwards; ring methods throw UVS_FRAMEIO_CLOSED.
   */
  close(): void {
    if (this.handle.closed) return;
    this.handle.closed = true;
    callNative(this.ifname, () => this.handle.native.close(this.fd));
  }
}
