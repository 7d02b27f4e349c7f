// TX ring writer: fixed-size slots, each a tpacket3_hdr (or, on a TPACKET_V2 socket, a
// tpacket2_hdr) followed (at offset 48, V2: 32 = tp_hdrlen - sizeof(sockaddr_ll)) by the
// frame data; the header offsets come from the socket's layout. Zero allocation per packet:
//
//   for (const pkt of batch) {
//     const off = tx.acquire();            // -1: the slot is still owned by the kernel
//     if (off < 0) break;
//     tx.bytes.set(pkt, off);              // or build the frame in place at `off`
//     tx.commit(pkt.length);               // marks the slot TP_STATUS_SEND_REQUEST
//   }
//   tx.flush();                            // one send() for the whole batch
//
// With vnetHdr, acquire() returns where the Ethernet frame goes; the 10-byte virtio_net_hdr
// sits just before it at `vnetOffset` and is zeroed by acquire() (= no offload requested).

import { closedError, invalidArgument, translateNativeError } from './errors.js';
import { HOST_LE, type SocketHandle } from './handle.js';
import type { NativeLayout } from './native.js';
import type { RingMemory } from './rx-ring.js';
import {
  TP_STATUS_AVAILABLE,
  TP_STATUS_SEND_REQUEST,
  VNET_CSUM_OFFSET,
  VNET_CSUM_START,
  VNET_FLAGS,
  VNET_GSO_SIZE,
  VNET_GSO_TYPE,
  VNET_HDR_LEN_FIELD,
} from './constants.js';

export interface TxGeometry {
  frameSize: number;
  frameCount: number;
  blockSize: number;
  framesPerBlock: number;
  dataOffset: number;
  vnetHdrLength: number;
}

export class TxRing {
  /** The whole TX ring — or, for a ring in a combined buffer, that whole buffer. Detached (length 0) after close. */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly frameSize: number;
  readonly frameCount: number;
  readonly blockSize: number;
  readonly framesPerBlock: number;
  /** Offset of the data area inside a slot (48 for TPACKET_V3). */
  readonly dataOffset: number;
  /** 10 with vnetHdr, else 0. */
  readonly vnetHdrLength: number;
  /**
   * Largest Ethernet frame a slot holds: frameSize - dataOffset - vnetHdrLength. Without
   * vnetHdr the kernel additionally limits frames to MTU + 14 (+ 4 for a VLAN tag).
   */
  readonly maxFrameLength: number;

  /** Index of the next slot to fill. */
  index = 0;
  /** Frames committed since the last successful flush(). */
  pending = 0;
  /** Offset of the acquired slot's virtio_net_hdr (vnetHdr only), else -1. */
  vnetOffset = -1;
  /** Status seen by the last acquire() that returned -1 (TP_STATUS_SEND_REQUEST / _SENDING). */
  lastBusyStatus = 0;

  private readonly words: Int32Array;
  private readonly handle: SocketHandle;
  private readonly slots: Int32Array;
  private readonly statusOff: number;
  private readonly lenOff: number;
  private readonly snaplenOff: number;
  private readonly nextOff: number;
  private slot = -1;

  constructor(handle: SocketHandle, memory: RingMemory, geometry: TxGeometry, layout: NativeLayout, base = 0) {
    this.handle = handle;
    this.bytes = memory.bytes;
    this.view = memory.view;
    this.words = memory.words;
    this.frameSize = geometry.frameSize;
    this.frameCount = geometry.frameCount;
    this.blockSize = geometry.blockSize;
    this.framesPerBlock = geometry.framesPerBlock;
    this.dataOffset = geometry.dataOffset;
    this.vnetHdrLength = geometry.vnetHdrLength;
    this.maxFrameLength = geometry.frameSize - geometry.dataOffset - geometry.vnetHdrLength;
    this.statusOff = layout.status;
    this.lenOff = layout.len;
    this.snaplenOff = layout.snaplen;
    this.nextOff = layout.nextOffset;
    // Slot i lives in block floor(i / framesPerBlock); frames never straddle blocks.
    this.slots = new Int32Array(geometry.frameCount);
    for (let i = 0; i < geometry.frameCount; i++) {
      const block = Math.floor(i / geometry.framesPerBlock);
      this.slots[i] = base + block * geometry.blockSize + (i % geometry.framesPerBlock) * geometry.frameSize;
    }
  }

  /** Byte offset of slot i (its tpacket3_hdr). */
  slotOffset(i: number): number {
    return this.slots[i]!;
  }

  /**
   * Returns the offset in `bytes` where the next Ethernet frame is to be written, or -1 when
   * that slot is still owned by the kernel (ring full: flush and retry later). Calling it
   * again before commit() returns the same slot.
   */
  acquire(): number {
    if (this.handle.closed) throw closedError(this.handle.ifname);
    const slot = this.slots[this.index]!;
    // Acquire-load: the kernel sets TP_STATUS_AVAILABLE when it is done with the slot's data.
    const st = Atomics.load(this.words, (slot + this.statusOff) >> 2);
    if (st !== TP_STATUS_AVAILABLE) {
      this.lastBusyStatus = st;
      return -1;
    }
    this.slot = slot;
    const data = slot + this.dataOffset;
    if (this.vnetHdrLength) {
      // Zero the 10-byte virtio_net_hdr with three plain stores (a fill() call per frame costs more).
      const v = this.view;
      v.setUint32(data, 0);
      v.setUint32(data + 4, 0);
      v.setUint16(data + 8, 0);
      this.vnetOffset = data;
      return data + this.vnetHdrLength;
    }
    return data;
  }

  /**
   * Hands the acquired slot to the kernel with an Ethernet frame of `length` bytes (the
   * virtio_net_hdr, if any, is added to tp_len automatically). Not sent until flush().
   */
  commit(length: number): void {
    const slot = this.slot;
    if (slot < 0) throw invalidArgument('TxRing.commit() without a successful acquire()');
    if (!(length >= 14 && length <= this.maxFrameLength))
      throw invalidArgument(
        `TX frame length ${length} out of range 14..${this.maxFrameLength} on ${this.handle.ifname}`,
      );
    const v = this.view;
    const total = length + this.vnetHdrLength;
    if (this.nextOff >= 0) v.setUint32(slot + this.nextOff, 0, HOST_LE); // TPACKET_V3 TX: fixed slots only (V2 has no such field)
    v.setUint32(slot + this.lenOff, total, HOST_LE);
    v.setUint32(slot + this.snaplenOff, total, HOST_LE);
    // Release-store: frame data and tp_len are written before the kernel may see the slot.
    Atomics.store(this.words, (slot + this.statusOff) >> 2, TP_STATUS_SEND_REQUEST);
    this.slot = -1;
    this.vnetOffset = -1;
    this.index = this.index + 1 === this.frameCount ? 0 : this.index + 1;
    this.pending++;
  }

  /**
   * Sets the virtio_net_hdr of the acquired slot (vnetHdr sockets): e.g. for a TCP/IPv4 GSO
   * frame flags=NEEDS_CSUM, gsoType=TCPV4, hdrLen=54, gsoSize=MSS, csumStart=34, csumOffset=16.
   */
  setVnetHeader(
    flags: number,
    gsoType: number,
    hdrLen: number,
    gsoSize: number,
    csumStart: number,
    csumOffset: number,
  ): void {
    const o = this.vnetOffset;
    if (o < 0) throw invalidArgument('setVnetHeader() needs a vnetHdr socket and an acquired slot');
    const v = this.view;
    v.setUint8(o + VNET_FLAGS, flags);
    v.setUint8(o + VNET_GSO_TYPE, gsoType);
    v.setUint16(o + VNET_HDR_LEN_FIELD, hdrLen, HOST_LE);
    v.setUint16(o + VNET_GSO_SIZE, gsoSize, HOST_LE);
    v.setUint16(o + VNET_CSUM_START, csumStart, HOST_LE);
    v.setUint16(o + VNET_CSUM_OFFSET, csumOffset, HOST_LE);
  }

  /**
   * Flushes every committed frame with one send(MSG_DONTWAIT). Returns the bytes the kernel
   * queued (Ethernet frame bytes), 0 if nothing was pending, or a negative errno (-11 EAGAIN,
   * -105 ENOBUFS) meaning "try again later" (the frames stay queued in the ring).
   */
  flush(): number {
    if (this.pending === 0) return 0;
    const h = this.handle;
    if (h.closed) throw closedError(h.ifname);
    let r: number;
    try {
      r = h.native.kick(h.fd);
    } catch (err) {
      throw translateNativeError(err, h.ifname);
    }
    if (r >= 0) this.pending = 0;
    return r;
  }

  /** Number of slots the kernel still owns (sending or waiting to be sent). O(frameCount). */
  busySlots(): number {
    let n = 0;
    for (let i = 0; i < this.frameCount; i++)
      if (Atomics.load(this.words, (this.slots[i]! + this.statusOff) >> 2) !== TP_STATUS_AVAILABLE) n++;
    return n;
  }
}
