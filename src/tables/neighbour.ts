// Neighbour (ARP) cache: IPv4 address -> MAC, kept by uvs itself because the datapath
// forwards frames the director's kernel never routes (design.md, hard fact 6). Modelled on
// the kernel's neighbour states, reduced to what a router in userspace needs:
//   INCOMPLETE  an ARP request is out; up to one frame waits for the answer (unres_qlen 1)
//   REACHABLE   the MAC is known; after `staleMs` it is still used, but the caller is told
//               to re-probe (the kernel's STALE -> PROBE), rate-limited to one per `retryMs`
// Bounded: open addressing over typed arrays with a fixed capacity; no allocation per
// lookup. A full table refuses new neighbours (counted in `full`), it never evicts live ones.

import { copyBytes } from '../packet/bytes.js';
import { copyMac } from '../packet/ethernet.js';

export const NEIGH_NONE = 0;
export const NEIGH_INCOMPLETE = 1;
export const NEIGH_REACHABLE = 2;

/** lookup() result flag: the caller should send an ARP request for this neighbour now. */
export const NEIGH_PROBE = 0x4000_0000;
/** lookup() result mask for the entry index. */
export const NEIGH_INDEX_MASK = 0x3fff_ffff;

export interface NeighbourTableOptions {
  /** Entries (rounded up to a power of two). Default 1024. */
  capacity?: number;
  /** Frames that may wait for an answer at once, table-wide. Default 16. */
  holdSlots?: number;
  /** Bytes per waiting frame (a GSO super-frame + virtio header fits in 65536 + 16). */
  holdSlotSize?: number;
  /** A MAC learnt this long ago is re-probed. Default 30 s (the kernel's base_reachable_time). */
  staleMs?: number;
  /** At most one ARP request per neighbour per this many ms. Default 1000. */
  retryMs?: number;
}

export class NeighbourTable {
  readonly capacity: number;
  /** MAC of entry i at macs[i * 6]. */
  readonly macs: Uint8Array;
  /** Waiting frames: slot s at holdBytes[s * holdSlotSize], holdLength[s] bytes. */
  readonly holdBytes: Uint8Array;
  readonly holdLength: Int32Array;
  /** Caller-defined tag of a waiting frame (e.g. the output interface). */
  readonly holdTag: Int32Array;
  readonly holdSlotSize: number;
  /** Neighbours refused because the table was full. */
  full = 0;
  /** Frames dropped because no hold slot was free or one already waited for that neighbour. */
  holdDrops = 0;

  private readonly keys: Uint32Array;
  private readonly state: Uint8Array;
  private readonly updatedMs: Float64Array;
  private readonly probedMs: Float64Array;
  private readonly holdOf: Int32Array;
  private readonly holdOwner: Int32Array;
  private readonly mask: number;
  private readonly staleMs: number;
  private readonly retryMs: number;

  constructor(options: NeighbourTableOptions = {}) {
    let cap = 16;
    while (cap < (options.capacity ?? 1024)) cap <<= 1;
    this.capacity = cap;
    this.mask = cap - 1;
    this.keys = new Uint32Array(cap);
    this.state = new Uint8Array(cap);
    this.updatedMs = new Float64Array(cap);
    this.probedMs = new Float64Array(cap);
    this.holdOf = new Int32Array(cap).fill(-1);
    this.macs = new Uint8Array(cap * 6);
    const slots = options.holdSlots ?? 16;
    this.holdSlotSize = options.holdSlotSize ?? 65536 + 16;
    this.holdBytes = new Uint8Array(slots * this.holdSlotSize);
    this.holdLength = new Int32Array(slots);
    this.holdTag = new Int32Array(slots);
    this.holdOwner = new Int32Array(slots).fill(-1);
    this.staleMs = options.staleMs ?? 30_000;
    this.retryMs = options.retryMs ?? 1000;
  }

  /** Index of ip's slot (existing, or the empty one where it would go); -1 if the table is full. */
  private find(ip: number): number {
    let i = Math.imul(ip, 0x9e3779b1) >>> 0 & this.mask;
    for (let n = 0; n <= this.mask; n++) {
      const k = this.keys[i]!;
      if (k === ip || this.state[i] === NEIGH_NONE) return i;
      i = (i + 1) & this.mask;
    }
    return -1;
  }

  /**
   * Looks a neighbour up. Returns the entry index when its MAC is known (with NEIGH_PROBE
   * set when it is stale and due for a re-probe), or -1 when it is not: then the entry is
   * INCOMPLETE and the result of `needsRequest` says whether to send an ARP request.
   * `ip` must not be 0.
   */
  lookup(ip: number, nowMs: number): number {
    const i = this.find(ip >>> 0);
    if (i < 0 || this.state[i] !== NEIGH_REACHABLE) return -1;
    if (nowMs - this.updatedMs[i]! > this.staleMs && nowMs - this.probedMs[i]! >= this.retryMs) {
      this.probedMs[i] = nowMs;
      return i | NEIGH_PROBE;
    }
    return i;
  }

  /**
   * For a neighbour lookup() did not know: creates the INCOMPLETE entry and returns true
   * when an ARP request should go out now (rate-limited per neighbour).
   */
  needsRequest(ip: number, nowMs: number): boolean {
    ip >>>= 0;
    const i = this.find(ip);
    if (i < 0) {
      this.full++;
      return false;
    }
    if (this.state[i] === NEIGH_NONE) {
      this.keys[i] = ip;
      this.state[i] = NEIGH_INCOMPLETE;
      this.probedMs[i] = nowMs;
      return true;
    }
    if (nowMs - this.probedMs[i]! >= this.retryMs) {
      this.probedMs[i] = nowMs;
      return true;
    }
    return false;
  }

  /**
   * Keeps one frame (src[off, off+len)) for an INCOMPLETE neighbour until its MAC is known.
   * Returns false (and counts a drop) when it cannot be kept.
   */
  hold(ip: number, src: Uint8Array, off: number, len: number, tag: number): boolean {
    const i = this.find(ip >>> 0);
    if (i < 0 || this.state[i] !== NEIGH_INCOMPLETE || this.holdOf[i] !== -1 || len > this.holdSlotSize) {
      this.holdDrops++;
      return false;
    }
    const owners = this.holdOwner;
    for (let s = 0; s < owners.length; s++) {
      if (owners[s] !== -1) continue;
      owners[s] = i;
      this.holdOf[i] = s;
      this.holdLength[s] = len;
      this.holdTag[s] = tag;
      copyBytes(this.holdBytes, s * this.holdSlotSize, src, off, len);
      return true;
    }
    this.holdDrops++;
    return false;
  }

  /**
   * Records ip -> mac (from an ARP packet seen on the wire). Returns the entry index, or -1
   * when the table is full. Only neighbours already asked for (or known) are updated unless
   * `create` is set, as the kernel does without arp_accept.
   */
  learn(ip: number, mac: Uint8Array, macOff: number, nowMs: number, create: boolean): number {
    ip >>>= 0;
    if (ip === 0) return -1;
    const i = this.find(ip);
    if (i < 0) {
      if (create) this.full++;
      return -1;
    }
    if (this.state[i] === NEIGH_NONE) {
      if (!create) return -1;
      this.keys[i] = ip;
    }
    this.state[i] = NEIGH_REACHABLE;
    this.updatedMs[i] = nowMs;
    copyMac(this.macs, i * 6, mac, macOff);
    return i;
  }

  /** The hold slot waiting on entry i (-1 if none); the caller sends it, then release()s it. */
  heldFrame(entry: number): number {
    return this.holdOf[entry & NEIGH_INDEX_MASK]!;
  }

  /** Frees hold slot s. */
  release(slot: number): void {
    const owner = this.holdOwner[slot]!;
    if (owner >= 0) this.holdOf[owner] = -1;
    this.holdOwner[slot] = -1;
  }

  /** State of ip's entry (NEIGH_NONE if absent). For status output and tests. */
  stateOf(ip: number): number {
    const i = this.find(ip >>> 0);
    return i < 0 || this.keys[i] !== ip >>> 0 ? NEIGH_NONE : this.state[i]!;
  }
}
