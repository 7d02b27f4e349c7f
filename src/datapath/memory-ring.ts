// An in-memory TX ring with the TxSlots shape: frames the engine sends land in a plain
// buffer, slot after slot, so golden tests can read them back and benchmarks can run the
// whole parse -> lookup -> rewrite -> copy path without sockets. Every slot is always free
// (wraps around); flush() only counts.

import type { TxSlots } from './link.js';

export class MemoryTxRing implements TxSlots {
  readonly bytes: Uint8Array;
  readonly vnetHdrLength: number;
  readonly maxFrameLength: number;
  readonly slotSize: number;
  readonly slots: number;
  vnetOffset = -1;
  /** Length of each committed frame (Ethernet bytes), by slot. */
  readonly lengths: Int32Array;
  /** Frames committed in all, and flushes. */
  committed = 0;
  flushes = 0;
  /** Offset of slot 0 in `bytes`. */
  readonly base: number;
  private index = 0;

  /**
   * `shared`: place the slots at `base` in an existing buffer (as the datapath's rings share
   * one buffer), instead of a buffer of their own.
   */
  constructor(slots = 256, slotSize = 65536 + 64, vnetHdrLength = 10, shared?: { bytes: Uint8Array; base: number }) {
    this.slots = slots;
    this.slotSize = slotSize;
    this.vnetHdrLength = vnetHdrLength;
    this.maxFrameLength = slotSize - vnetHdrLength;
    this.bytes = shared ? shared.bytes : new Uint8Array(slots * slotSize);
    this.base = shared ? shared.base : 0;
    this.lengths = new Int32Array(slots);
  }

  acquire(): number {
    const base = this.base + this.index * this.slotSize;
    if (this.vnetHdrLength) {
      this.vnetOffset = base;
      return base + this.vnetHdrLength;
    }
    return base;
  }

  commit(length: number): void {
    this.lengths[this.index] = length;
    this.index = this.index + 1 === this.slots ? 0 : this.index + 1;
    this.committed++;
    this.vnetOffset = -1;
  }

  flush(): number {
    this.flushes++;
    return 0;
  }

  /** The Ethernet frame committed n frames ago (0 = the last one), as a copy. */
  frame(back = 0): Uint8Array {
    const i = (((this.committed - 1 - back) % this.slots) + this.slots) % this.slots;
    const start = this.base + i * this.slotSize + this.vnetHdrLength;
    return this.bytes.slice(start, start + this.lengths[i]!);
  }

  /** Forgets what was sent. */
  reset(): void {
    this.index = 0;
    this.committed = 0;
    this.flushes = 0;
  }
}
