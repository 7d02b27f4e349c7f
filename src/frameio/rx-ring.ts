// RX ring reader for TPACKET_V3 (variable-size frames in blocks the kernel hands over whole)
// and TPACKET_V2 (fixed slots handed over one frame at a time). Zero allocation per packet:
// the cursor methods set public numeric fields on the ring object and the caller reads frame
// bytes straight out of `frameBytes` (the mmap'ed ring itself, or for a V2 frame too big for
// its slot, the spill buffer it was read into).
//
//   while (running) {
//     if (!rx.wait(100)) continue;         // poll(2) only when the next block is not ready
//     rx.nextBlock();                      // take the block (number of frames in it)
//     while (rx.nextFrame()) {             // frame at rx.frameOffset, rx.frameLength bytes
//       handle(rx.frameBytes, rx.frameOffset, rx.frameLength);
//     }
//     rx.releaseBlock();                   // give it back to the kernel
//   }
//
// With V2 a "block" is the run of frames ready at the cursor: nextBlock() counts them,
// nextFrame() gives each slot back to the kernel as it moves on to the next one, and
// releaseBlock() gives back the last.

import { closedError, translateNativeError } from './errors.js';
import { HOST_LE, type SocketHandle } from './handle.js';
import type { NativeLayout } from './native.js';
import {
  POLLIN,
  TP_STATUS_COPY,
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
  /** 3 (TPACKET_V3, the default) or 2 (TPACKET_V2: fixed slots of frameSize). */
  version?: number;
  /** V2: slots per block (blockSize / frameSize). */
  framesPerBlock?: number;
  /** V2: frames too big for a slot are read whole from the receive queue (TP_STATUS_COPY). */
  spill?: boolean;
}

/** Largest frame a spill buffer takes: virtio header + Ethernet + VLAN tag + a 64 KiB IP packet. */
export const RX_SPILL_BYTES = 10 + 14 + 4 + 65535 + 29;

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
  /** TPACKET_V3 (blocks) or TPACKET_V2 (a frame per slot). */
  readonly version: number;
  /** V2: number of slots (frameSize each); V3: 0. */
  readonly frameCount: number;
  /** V2: where a frame the kernel spilled (too big for its slot) is read to; else null. */
  readonly spill: Uint8Array | null;
  /** The array the current frame is in: `bytes`, or `spill` for a spilled V2 frame. */
  frameBytes: Uint8Array;
  /** A DataView over frameBytes. */
  frameView: DataView;

  // ---- cursor / current block ----
  /** Index of the block (V2: the slot) under the cursor. */
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
  /** V2: slot offsets in `bytes`, and the slot of the frame last returned (-1: none). */
  private readonly slots: Int32Array;
  private current = -1;
  private readonly spillView: DataView | null;
  /** Offset of the ownership word: block_status (V3) or the slot's tp_status (V2). */
  private readonly statusField: number;

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
    this.version = geometry.version ?? 3;
    this.frameBytes = this.bytes;
    this.frameView = this.view;
    if (this.version === 2) {
      const fpb = geometry.framesPerBlock ?? Math.floor(geometry.blockSize / geometry.frameSize);
      this.frameCount = fpb * geometry.blockCount;
      this.slots = new Int32Array(this.frameCount);
      for (let i = 0; i < this.frameCount; i++) this.slots[i] = base + Math.floor(i / fpb) * geometry.blockSize + (i % fpb) * geometry.frameSize;
      this.sllOffset = layout.tpacket2HdrLen ?? 32;
      this.blockOffset = base;
      this.spill = geometry.spill ? new Uint8Array(RX_SPILL_BYTES) : null;
    } else {
      this.frameCount = 0;
      this.slots = new Int32Array(0);
      this.sllOffset = layout.tpacket3HdrLen;
      this.spill = null;
    }
    this.spillView = this.spill ? new DataView(this.spill.buffer) : null;
    this.statusField = this.version === 2 ? layout.status : layout.blockStatus;
  }

  /** True when the block under the cursor belongs to user space (no syscall). */
  ready(): boolean {
    if (this.holding) return true;
    if (this.handle.closed) throw closedError(this.handle.ifname);
    // Acquire-load of block_status (V2: the slot's tp_status) before any frame data is read.
    return (Atomics.load(this.words, (this.blockOffset + this.statusField) >> 2) & TP_STATUS_USER) !== 0;
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
    if (this.version === 2) return this.nextRun();
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

  /** V2: takes the run of ready slots at the cursor (one Atomics.load each). */
  private nextRun(): number {
    const words = this.words;
    const st = this.L.status;
    const slots = this.slots;
    const count = this.frameCount;
    let i = this.blockIndex;
    let n = 0;
    while (n < count && (Atomics.load(words, (slots[i]! + st) >> 2) & TP_STATUS_USER) !== 0) {
      n++;
      i = i + 1 === count ? 0 : i + 1;
    }
    if (n === 0) return 0;
    this.remaining = n;
    this.holding = true;
    this.current = -1;
    this.blockStatus = TP_STATUS_USER;
    return n;
  }

  /** V2: gives the slot under the cursor back to the kernel and moves the cursor on. */
  private releaseSlot(): void {
    Atomics.store(this.words, (this.slots[this.blockIndex]! + this.L.status) >> 2, TP_STATUS_KERNEL);
    this.blockIndex = this.blockIndex + 1 === this.frameCount ? 0 : this.blockIndex + 1;
    this.blockOffset = this.slots[this.blockIndex]!;
    this.current = -1;
  }

  /** V2: the next frame of the run (the previous one's slot goes back to the kernel first). */
  private nextSlotFrame(): boolean {
    if (this.current >= 0) this.releaseSlot();
    if (this.remaining === 0) return false;
    const v = this.view;
    const L = this.L;
    const h = this.slots[this.blockIndex]!;
    this.current = h;
    const status = v.getUint32(h + L.status, HOST_LE);
    this.headerOffset = h;
    const mac = v.getUint16(h + L.mac, HOST_LE);
    const net = v.getUint16(h + L.net, HOST_LE);
    this.frameOffset = h + mac;
    this.networkOffset = h + net;
    this.frameLength = v.getUint32(h + L.snaplen, HOST_LE);
    this.wireLength = v.getUint32(h + L.len, HOST_LE);
    this.status = status;
    this.sec = v.getUint32(h + L.sec, HOST_LE);
    this.nsec = v.getUint32(h + L.nsec, HOST_LE);
    this.rxHash = 0;
    this.vlanTci = status & TP_STATUS_VLAN_VALID ? v.getUint16(h + L.vlanTci, HOST_LE) : 0;
    this.vlanTpid = status & TP_STATUS_VLAN_TPID_VALID ? v.getUint16(h + L.vlanTpid, HOST_LE) : 0;
    const sll = h + this.sllOffset;
    this.packetType = this.bytes[sll + L.sllPktType]!;
    this.protocol = v.getUint16(sll + L.sllProtocol, false);
    this.frameBytes = this.bytes;
    this.frameView = v;
    this.vnetOffset = this.vnetHdrLength ? this.frameOffset - this.vnetHdrLength : -1;
    if ((status & TP_STATUS_COPY) !== 0 && this.spill !== null) this.readSpill(net - mac);
    this.remaining--;
    return true;
  }

  /** The current V2 frame was cut to its slot and queued whole: read it into `spill`. */
  private readSpill(netFromMac: number): void {
    const h = this.handle;
    const spill = this.spill!;
    let n: number;
    try {
      n = h.native.recvSpill(h.fd, spill);
    } catch (err) {
      throw translateNativeError(err, h.ifname);
    }
    const vh = this.vnetHdrLength;
    if (n <= vh) return; // nothing queued after all: the cut frame stays (frameLength < wireLength)
    this.frameBytes = spill;
    this.frameView = this.spillView!;
    this.frameOffset = vh;
    this.networkOffset = vh + netFromMac;
    this.wireLength = n - vh;
    this.frameLength = Math.min(n, spill.length) - vh;
    this.vnetOffset = vh ? 0 : -1;
  }

  /** Moves to the next frame of the held block; false when the block is exhausted. */
  nextFrame(): boolean {
    if (this.version === 2) return this.nextSlotFrame();
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
    if (this.version === 2) {
      // The frame in hand goes back; frames of the run not yet read stay ours and come
      // again from the next nextBlock().
      if (this.current >= 0) this.releaseSlot();
      this.holding = false;
      this.remaining = 0;
      return;
    }
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
    return this.vnetOffset < 0 ? -1 : this.frameBytes[this.vnetOffset + VNET_FLAGS]!;
  }
  /** VIRTIO_NET_HDR_GSO_*: non-zero for a GSO super-frame. */
  get gsoType(): number {
    return this.vnetOffset < 0 ? -1 : this.frameBytes[this.vnetOffset + VNET_GSO_TYPE]!;
  }
  /** Length of Ethernet + IP + L4 headers of a GSO frame. */
  get vnetHdrLen(): number {
    return this.vnetOffset < 0 ? -1 : this.frameView.getUint16(this.vnetOffset + VNET_HDR_LEN_FIELD, HOST_LE);
  }
  /** Payload bytes per segment of a GSO frame (the MSS for TCP). */
  get gsoSize(): number {
    return this.vnetOffset < 0 ? -1 : this.frameView.getUint16(this.vnetOffset + VNET_GSO_SIZE, HOST_LE);
  }
  /** With NEEDS_CSUM: offset (from the Ethernet header) where checksumming starts. */
  get csumStart(): number {
    return this.vnetOffset < 0 ? -1 : this.frameView.getUint16(this.vnetOffset + VNET_CSUM_START, HOST_LE);
  }
  /** With NEEDS_CSUM: where the checksum goes, relative to csumStart. */
  get csumOffset(): number {
    return this.vnetOffset < 0 ? -1 : this.frameView.getUint16(this.vnetOffset + VNET_CSUM_OFFSET, HOST_LE);
  }
}
