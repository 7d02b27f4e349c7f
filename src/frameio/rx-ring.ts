// TPACKET_V3 RX ring reader. Zero allocation per packet: the cursor methods set public
// numeric fields on the ring object and the caller reads frame bytes straight out of `bytes`
// / `view` (the mmap'ed ring itself).
//
//   while (running) {
//     if (!rx.wait(100)) continue;         // poll(2) only when the next block is not ready
//     rx.nextBlock();                      // take the block (number of frames in it)
//     while (rx.nextFrame()) {             // frame at rx.frameOffset, rx.frameLength bytes
//       handle(rx.bytes, rx.frameOffset, rx.frameLength);
//     }
//     rx.releaseBlock();                   // give it back to the kernel
//   }

import { closedError, translateNativeError } from './errors.js';
import { HOST_LE, type SocketHandle } from './handle.js';
import type { NativeLayout } from './native.js';
import {
  POLLIN,
  TP_STATUS_KERNEL,
  TP_STATUS_USER,
  TP_STATUS_VLAN_TPID_VALID,
  TP_STATUS_VLAN_VALID,
  VNET_CSUM_OFFSET,
  VNET_CSUM_START,
  VNET_FLAGS,
  VNET_GSO_SIZE,
  VNET_GSO_TYPE,
  VNET_HDR_LEN_FIELD,
} from './constants.js';

export interface RxGeometry {
  blockSize: number;
  blockCount: number;
  frameSize: number;
  retireTimeoutMs: number;
  vnetHdrLength: number;
}

/** Views over ring memory; shared by every ring mapped into one combined buffer. */
export interface RingMemory {
  bytes: Uint8Array;
  view: DataView;
  words: Int32Array;
}

export function ringMemory(buffer: ArrayBuffer): RingMemory {
  return { bytes: new Uint8Array(buffer), view: new DataView(buffer), words: new Int32Array(buffer) };
}

export class RxRing {
  /**
   * The whole RX ring (blockCount * blockSize bytes) — or, for a ring in a combined buffer,
   * that whole buffer, the ring starting at `base`. Detached (length 0) after close.
   */
  readonly bytes: Uint8Array;
  /** Offset of the ring in `bytes` (0 unless combined). */
  readonly base: number;
  readonly view: DataView;
  readonly blockSize: number;
  readonly blockCount: number;
  /** The tp_frame_size hint the ring was configured with (V3 frames are variable-sized). */
  readonly frameSize: number;
  readonly retireTimeoutMs: number;
  /** 10 when every frame is preceded by a virtio_net_hdr, else 0. */
  readonly vnetHdrLength: number;

  // ---- cursor / current block ----
  /** Index of the block under the cursor. */
  blockIndex = 0;
  /** Byte offset of that block in `bytes`. */
  blockOffset = 0;
  /** block_status of the held block (TP_STATUS_USER | TP_STATUS_BLK_TMO | TP_STATUS_LOSING). */
  blockStatus = 0;
  /** Frames left to read in the held block. */
  remaining = 0;
  /** True between nextBlock() (returning > 0) and releaseBlock(). */
  holding = false;

  // ---- current frame (set by nextFrame) ----
  /** Offset of the tpacket3_hdr of the current frame. */
  headerOffset = 0;
  /** Offset of the Ethernet header in `bytes`. */
  frameOffset = 0;
  /** Bytes captured (tp_snaplen) starting at frameOffset. */
  frameLength = 0;
  /** Length on the wire (tp_len); > frameLength only if truncated. GSO frames exceed the MTU. */
  wireLength = 0;
  /** Offset of the network header (tp_net) in `bytes`. */
  networkOffset = 0;
  /** tp_status: TP_STATUS_CSUMNOTREADY, TP_STATUS_CSUM_VALID, TP_STATUS_VLAN_VALID, ... */
  status = 0;
  /** VLAN TCI when TP_STATUS_VLAN_VALID is set (tag stripped from the frame), else 0. */
  vlanTci = 0;
  /** VLAN TPID when TP_STATUS_VLAN_TPID_VALID is set, else 0. */
  vlanTpid = 0;
  /** Flow hash (only filled when opened with rxHash). */
  rxHash = 0;
  /** sll_pkttype: PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST, PACKET_OTHERHOST, PACKET_OUTGOING. */
  packetType = 0;
  /** sll_protocol (EtherType, host order). */
  protocol = 0;
  /** Offset of the virtio_net_hdr (frameOffset - 10) with vnetHdr, else -1. */
  vnetOffset = -1;
  sec = 0;
  nsec = 0;

  private readonly words: Int32Array;
  private readonly handle: SocketHandle;
  private readonly L: NativeLayout;
  private readonly sllOffset: number;
  private next = 0;

  constructor(handle: SocketHandle, memory: RingMemory, geometry: RxGeometry, layout: NativeLayout, base = 0) {
    this.handle = handle;
    this.bytes = memory.bytes;
    this.view = memory.view;
    this.words = memory.words;
    this.base = base;
    this.blockOffset = base;
    this.blockSize = geometry.blockSize;
    this.blockCount = geometry.blockCount;
    this.frameSize = geometry.frameSize;
    this.retireTimeoutMs = geometry.retireTimeoutMs;
    this.vnetHdrLength = geometry.vnetHdrLength;
    this.L = layout;
    this.sllOffset = layout.tpacket3HdrLen;
  }

  /** True when the block under the cursor belongs to user space (no syscall). */
  ready(): boolean {
    if (this.holding) return true;
    if (this.handle.closed) throw closedError(this.handle.ifname);
    // Acquire-load of block_status before any frame data is read.
    return (Atomics.load(this.words, (this.blockOffset + this.L.blockStatus) >> 2) & TP_STATUS_USER) !== 0;
  }

  /**
   * Waits up to timeoutMs (-1 = forever, 0 = just check) for the next block. Only polls when
   * the block under the cursor is not ready yet, so a backlog is drained without syscalls.
   * Blocking: meant for worker threads.
   */
  wait(timeoutMs: number): boolean {
    if (this.ready()) return true;
    if (timeoutMs === 0) return false;
    const h = this.handle;
    try {
      h.native.poll(h.fd, timeoutMs, POLLIN);
    } catch (err) {
      throw translateNativeError(err, h.ifname);
    }
    return this.ready();
  }

  /**
   * Takes the block under the cursor if the kernel has handed it over. Returns the number of
   * frames in it (0 if none is ready). While a block is held, returns the frames left in it.
   */
  nextBlock(): number {
    if (this.holding) return this.remaining;
    const L = this.L;
    for (let guard = 0; guard < this.blockCount; guard++) {
      if (!this.ready()) return 0;
      const b = this.blockOffset;
      const n = this.view.getUint32(b + L.blockNumPackets, HOST_LE);
      if (n === 0) {
        // An empty retired block: hand it straight back.
        this.releaseBlock();
        continue;
      }
      this.blockStatus = this.view.getUint32(b + L.blockStatus, HOST_LE);
      this.remaining = n;
      this.next = b + this.view.getUint32(b + L.blockFirstPacket, HOST_LE);
      this.holding = true;
      return n;
    }
    return 0;
  }

  /** Moves to the next frame of the held block; false when the block is exhausted. */
  nextFrame(): boolean {
    if (this.remaining === 0) return false;
    const v = this.view;
    const L = this.L;
    const h = this.next;
    const status = v.getUint32(h + L.status, HOST_LE);
    const next = v.getUint32(h + L.nextOffset, HOST_LE);
    this.headerOffset = h;
    this.frameOffset = h + v.getUint16(h + L.mac, HOST_LE);
    this.networkOffset = h + v.getUint16(h + L.net, HOST_LE);
    this.frameLength = v.getUint32(h + L.snaplen, HOST_LE);
    this.wireLength = v.getUint32(h + L.len, HOST_LE);
    this.status = status;
    this.sec = v.getUint32(h + L.sec, HOST_LE);
    this.nsec = v.getUint32(h + L.nsec, HOST_LE);
    this.rxHash = v.getUint32(h + L.rxhash, HOST_LE);
    this.vlanTci = status & TP_STATUS_VLAN_VALID ? v.getUint32(h + L.vlanTci, HOST_LE) & 0xffff : 0;
    this.vlanTpid = status & TP_STATUS_VLAN_TPID_VALID ? v.getUint16(h + L.vlanTpid, HOST_LE) : 0;
    const sll = h + this.sllOffset;
    this.packetType = this.bytes[sll + L.sllPktType]!;
    this.protocol = v.getUint16(sll + L.sllProtocol, false);
    this.vnetOffset = this.vnetHdrLength ? this.frameOffset - this.vnetHdrLength : -1;
    this.next = next === 0 ? h : h + next;
    this.remaining--;
    return true;
  }

  /** Returns the held block to the kernel and moves the cursor to the next block. */
  releaseBlock(): void {
    if (this.handle.closed) throw closedError(this.handle.ifname);
    // Release-store: all reads of the block happen before the kernel may refill it.
    Atomics.store(this.words, (this.blockOffset + this.L.blockStatus) >> 2, TP_STATUS_KERNEL);
    this.holding = false;
    this.remaining = 0;
    this.blockIndex = this.blockIndex + 1 === this.blockCount ? 0 : this.blockIndex + 1;
    this.blockOffset = this.base + this.blockIndex * this.blockSize;
  }

  // ---- virtio_net_hdr of the current frame (vnetHdr sockets only; -1 otherwise) ----

  /** VIRTIO_NET_HDR_F_NEEDS_CSUM (partial checksum) / VIRTIO_NET_HDR_F_DATA_VALID. */
  get vnetFlags(): number {
    return this.vnetOffset < 0 ? -1 : this.bytes[this.vnetOffset + VNET_FLAGS]!;
  }
  /** VIRTIO_NET_HDR_GSO_*: non-zero for a GSO super-frame. */
  get gsoType(): number {
    return this.vnetOffset < 0 ? -1 : this.bytes[this.vnetOffset + VNET_GSO_TYPE]!;
  }
  /** Length of Ethernet + IP + L4 headers of a GSO frame. */
  get vnetHdrLen(): number {
    return this.vnetOffset < 0 ? -1 : this.view.getUint16(this.vnetOffset + VNET_HDR_LEN_FIELD, HOST_LE);
  }
  /** Payload bytes per segment of a GSO frame (the MSS for TCP). */
  get gsoSize(): number {
    return this.vnetOffset < 0 ? -1 : this.view.getUint16(this.vnetOffset + VNET_GSO_SIZE, HOST_LE);
  }
  /** With NEEDS_CSUM: offset (from the Ethernet header) where checksumming starts. */
  get csumStart(): number {
    return this.vnetOffset < 0 ? -1 : this.view.getUint16(this.vnetOffset + VNET_CSUM_START, HOST_LE);
  }
  /** With NEEDS_CSUM: where the checksum goes, relative to csumStart. */
  get csumOffset(): number {
    return this.vnetOffset < 0 ? -1 : this.view.getUint16(this.vnetOffset + VNET_CSUM_OFFSET, HOST_LE);
  }
}
