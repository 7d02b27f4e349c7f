// Neighbour (ARP) cache: IPv4 address -> MAC, kept by uvs itself because the datapath
// forwards frames the director's kernel never routes (design.md, hard fact 6). Modelled on
// the kernel's neighbour states, reduced to what a router in userspace needs:
//   INCOMPLETE  an ARP request is out; a few frames per neighbour wait (the kernel's
//               unres_qlen; here `holdPerNeighbour`, default 8, from a shared pool)
//   REACHABLE   the MAC is known; after `staleMs` it is still used, but the caller is told
//               to re-probe (the kernel's STALE -> PROBE), rate-limited to one per `retryMs`
// Bounded: open addressing over typed arrays with a fixed capacity; no allocation per
// lookup. A full table refuses new neighbours (counted in `full`); it never evicts.
//
// Shared across datapath workers: the entries can live in a SharedArrayBuffer (see
// sharedBuffer()). Keys are claimed with compare-and-swap and states published with
// Atomics after the MAC is written, so a worker that asked for a neighbour sees the answer
// another worker learnt (ARP frames are steered to worker 0). Waiting frames are local to
// the worker that holds them; it sends them when nextReady() finds their MAC known.

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
  /** Entries (rounded up to a power of two). Default 1024. Must match a shared buffer's. */
  capacity?: number;
  /** Entries in this SharedArrayBuffer (from NeighbourTable.sharedBuffer) instead of private memory. */
  shared?: SharedArrayBuffer;
  /** Frames that may wait for an answer at once in this table (per worker). Default 16. */
  holdSlots?: number;
  /** Bytes per waiting frame (a GSO super-frame + virtio header fits in 65536 + 16). */
  holdSlotSize?: number;
  /** Frames that may wait for one neighbour (e.g. the fragments of a datagram). Default 8. */
  holdPerNeighbour?: number;
  /** A MAC learnt this long ago is re-probed. Default 30 s (the kernel's base_reachable_time). */
  staleMs?: number;
  /** At most one ARP request per neighbour per this many ms. Default 1000. */
  retryMs?: number;
}

const BYTES_PER_ENTRY = 8 + 8 + 4 + 1 + 6;

function roundCapacity(n: number): number {
  let cap = 16;
  while (cap < n) cap <<= 1;
  return cap;
}

export class NeighbourTable {
  /** A buffer to share one table between workers (pass it as `shared` to each). */
  static sharedBuffer(capacity = 1024): SharedArrayBuffer {
    return new SharedArrayBuffer(roundCapacity(capacity) * BYTES_PER_ENTRY);
  }

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
  /** Frames dropped because no hold slot was free or that neighbour had its share waiting. */
  holdDrops = 0;

  private readonly updatedMs: Float64Array;
  private readonly probedMs: Float64Array;
  private readonly keys: Int32Array;
  private readonly state: Uint8Array;
  /** Frames waiting per entry. */
  private readonly heldFor: Uint8Array;
  private readonly holdEntry: Int32Array;
  /** Order of arrival of each waiting frame: they leave in that order. */
  private readonly holdSeq: Float64Array;
  private readonly holdPerNeighbour: number;
  private seq = 0;
  private held = 0;
  private readonly mask: number;
  private readonly staleMs: number;
  private readonly retryMs: number;

  constructor(options: NeighbourTableOptions = {}) {
    const cap = roundCapacity(options.capacity ?? 1024);
    const buf = options.shared ?? new ArrayBuffer(cap * BYTES_PER_ENTRY);
    if (buf.byteLength !== cap * BYTES_PER_ENTRY) throw new RangeError(`neighbour buffer holds ${buf.byteLength} bytes, capacity ${cap} needs ${cap * BYTES_PER_ENTRY}`);
    this.capacity = cap;
    this.mask = cap - 1;
    this.updatedMs = new Float64Array(buf, 0, cap);
    this.probedMs = new Float64Array(buf, cap * 8, cap);
    this.keys = new Int32Array(buf, cap * 16, cap);
    this.state = new Uint8Array(buf, cap * 20, cap);
    this.macs = new Uint8Array(buf, cap * 21, cap * 6);
    this.heldFor = new Uint8Array(cap);
    const slots = options.holdSlots ?? 16;
    this.holdSlotSize = options.holdSlotSize ?? 65536 + 16;
    this.holdBytes = new Uint8Array(slots * this.holdSlotSize);
    this.holdLength = new Int32Array(slots);
    this.holdTag = new Int32Array(slots);
    this.holdEntry = new Int32Array(slots).fill(-1);
    this.holdSeq = new Float64Array(slots);
    this.holdPerNeighbour = Math.min(255, options.holdPerNeighbour ?? 8);
    this.staleMs = options.staleMs ?? 30_000;
    this.retryMs = options.retryMs ?? 1000;
  }

  /** Index of ip's entry, or of the empty slot where it would go; -1 if the table is full. */
  private find(ip: number): number {
    const key = ip | 0;
    let i = (Math.imul(key, 0x9e3779b1) >>> 0) & this.mask;
    for (let n = 0; n <= this.mask; n++) {
      const k = Atomics.load(this.keys, i);
      if (k === key || k === 0) return i;
      i = (i + 1) & this.mask;
    }
    return -1;
  }

  /** Index of ip's entry, claiming an empty slot for it if needed; -1 if the table is full. */
  private claim(ip: number): number {
    const key = ip | 0;
    let i = (Math.imul(key, 0x9e3779b1) >>> 0) & this.mask;
    for (let n = 0; n <= this.mask; n++) {
      const k = Atomics.compareExchange(this.keys, i, 0, key);
      if (k === 0 || k === key) return i;
      i = (i + 1) & this.mask;
    }
    this.full++;
    return -1;
  }

  /**
   * Looks a neighbour up. Returns the entry index when its MAC is known (with NEIGH_PROBE
   * set when it is stale and due for a re-probe), or -1 when it is not (then call
   * needsRequest). `ip` must not be 0.
   */
  lookup(ip: number, nowMs: number): number {
    const i = this.find(ip);
    if (i < 0 || Atomics.load(this.state, i) !== NEIGH_REACHABLE || Atomics.load(this.keys, i) !== (ip | 0)) return -1;
    if (nowMs - this.updatedMs[i]! > this.staleMs && nowMs - this.probedMs[i]! >= this.retryMs) {
      this.probedMs[i] = nowMs;
      return i | NEIGH_PROBE;
    }
    return i;
  }

  /**
   * For a neighbour lookup() did not know: makes the entry INCOMPLETE and returns true
   * when an ARP request should go out now (rate-limited per neighbour, across workers).
   */
  needsRequest(ip: number, nowMs: number): boolean {
    const i = this.claim(ip);
    if (i < 0) return false;
    if (Atomics.compareExchange(this.state, i, NEIGH_NONE, NEIGH_INCOMPLETE) === NEIGH_NONE) {
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
   * Keeps one frame (src[off, off+len)) until ip's MAC is known. Returns false (and counts
   * a drop) when it cannot be kept.
   */
  hold(ip: number, src: Uint8Array, off: number, len: number, tag: number): boolean {
    const i = this.find(ip);
    if (i < 0 || Atomics.load(this.keys, i) !== (ip | 0) || this.heldFor[i]! >= this.holdPerNeighbour || len > this.holdSlotSize) {
      this.holdDrops++;
      return false;
    }
    const entries = this.holdEntry;
    for (let s = 0; s < entries.length; s++) {
      if (entries[s] !== -1) continue;
      entries[s] = i;
      this.heldFor[i]++;
      this.holdSeq[s] = this.seq++;
      this.holdLength[s] = len;
      this.holdTag[s] = tag;
      copyBytes(this.holdBytes, s * this.holdSlotSize, src, off, len);
      this.held++;
      return true;
    }
    this.holdDrops++;
    return false;
  }

  /**
   * Records ip -> mac (from an ARP packet seen on the wire). Returns the entry index, or -1.
   * Only neighbours already asked for (or known) are updated unless `create` is set, as the
   * kernel does without arp_accept.
   */
  learn(ip: number, mac: Uint8Array, macOff: number, nowMs: number, create: boolean): number {
    if (ip === 0) return -1;
    const i = create ? this.claim(ip) : this.find(ip);
    if (i < 0 || Atomics.load(this.keys, i) !== (ip | 0)) return -1;
    copyMac(this.macs, i * 6, mac, macOff);
    this.updatedMs[i] = nowMs;
    Atomics.store(this.state, i, NEIGH_REACHABLE); // publish after the MAC is written
    return i;
  }

  /**
   * A hold slot whose neighbour's MAC is now known (-1 if none): the caller sends its frame
   * (copying the MAC from macs[entry * 6], entry = heldEntry(slot)) and then release()s it.
   */
  nextReady(): number {
    if (this.held === 0) return -1;
    const entries = this.holdEntry;
    let best = -1;
    for (let s = 0; s < entries.length; s++) {
      const e = entries[s]!;
      if (e !== -1 && Atomics.load(this.state, e) === NEIGH_REACHABLE && (best < 0 || this.holdSeq[s]! < this.holdSeq[best]!)) best = s;
    }
    return best;
  }

  /** The entry a hold slot waits for. */
  heldEntry(slot: number): number {
    return this.holdEntry[slot]!;
  }

  /** Frees hold slot s. */
  release(slot: number): void {
    const e = this.holdEntry[slot]!;
    if (e < 0) return;
    this.heldFor[e]--;
    this.holdEntry[slot] = -1;
    this.held--;
  }

  /** State of ip's entry (NEIGH_NONE if absent). For status output and tests. */
  stateOf(ip: number): number {
    const i = this.find(ip);
    return i < 0 || Atomics.load(this.keys, i) !== (ip | 0) ? NEIGH_NONE : Atomics.load(this.state, i);
  }
}
