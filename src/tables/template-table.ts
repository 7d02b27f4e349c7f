// Persistence templates, after IPVS (ip_vs_core.c ip_vs_sched_persist, ip_vs_conn.c
// ip_vs_ct_in_get / ip_vs_check_template / ip_vs_conn_expire): one entry per (protocol,
// client network, virtual service) pinning a real server (connections.md §7). In IPVS they
// live in the connection hash table with the TEMPLATE flag; here they have their own table
// because the connection tables are per worker while a client's next connection may land
// on any worker: all storage is one SharedArrayBuffer mapped by every worker.
//
// Concurrency: one spinlock (an Int32 header cell, Atomics.compareExchange; the control
// thread may not Atomics.wait, so it spins) around short critical sections. The engine
// does `lock(); i = find(...); if (i < 0 || !usable) { invalidate(i); schedule; i =
// create(...) } attach(i, now); unlock();`, so two workers never create two templates for
// one key. release() (a connection owned by a template went away) is lock-free, except
// for forced removals, which may delete the template.
//
// Keys: proto 0 ('IP') templates are fwmark templates; their vaddr holds the mark (§7.1).

import type { DestCounters } from './dest-counters.js';
import { HDR_USER, Slab } from './slab.js';

export const TEMPLATE_FIELDS = {
  proto: 'u8',
  flags: 'u8',
  vport: 'u16',
  dport: 'u16',
  caddr: 'u32',
  vaddr: 'u32',
  daddr: 'u32',
  dest: 'i32',
  nControl: 'i32',
  expires: 'f64',
  timeoutMs: 'f64',
} as const;

/** flags: the entry is in use; ASSURED (an owned connection got an answer); invalidated (§7.2: never matches again). */
export const T_USED = 1;
export const T_ASSURED = 2;
export const T_INVALID = 4;
/**
 * Invalidated at a lookup (its server unavailable, or quiesced with expire_quiescent_template):
 * the kernel re-keys such a template with vport and dport 0xffff (ip_vs_check_template),
 * which is how `-L -c` shows it; one invalidated because its server was deleted keeps its
 * ports, as the kernel's stays untouched until a lookup (found by test/conformance).
 */
export const T_REKEYED = 8;

/** An expired template that still owns connections lives on in steps of 60 s (§2.2). */
const REARM_MS = 60_000;

const HDR_LOCK = HDR_USER;
const HDR_REFUSED = HDR_USER + 1;
const HDR_EXPIRED = HDR_USER + 2;
const HDR_CURSOR = HDR_USER + 3;

export class TemplateTable {
  readonly capacity: number;
  readonly buffer: SharedArrayBuffer;
  // Per-entry arrays (TEMPLATE_FIELDS), views into the one buffer; assigned in the constructor.
  declare readonly proto: Uint8Array;
  /** T_USED | T_ASSURED | T_INVALID; changed with Atomics (assure is lock-free). */
  declare readonly flags: Uint8Array;
  /** Masked client address (IPv4). */
  declare readonly caddr: Uint32Array;
  /** VIP, or the fwmark for proto 0. */
  declare readonly vaddr: Uint32Array;
  declare readonly vport: Uint16Array;
  declare readonly daddr: Uint32Array;
  declare readonly dport: Uint16Array;
  /** Real-server stats slot (index into the shared counters). */
  declare readonly dest: Int32Array;
  /** Connections owned (IPVS n_control); changed with Atomics. */
  declare readonly nControl: Int32Array;
  /** Expiry time, ms since the epoch. */
  declare readonly expires: Float64Array;
  /** The timeout attach() re-arms with: the service's persistence timeout, 60 s once re-armed. */
  declare readonly timeoutMs: Float64Array;

  private readonly slab: Slab<typeof TEMPLATE_FIELDS>;
  private readonly counters: DestCounters;

  static bufferBytes(capacity: number): number {
    return Slab.bytes(TEMPLATE_FIELDS, capacity);
  }

  /** A shared buffer for `capacity` templates, initialised: create it once, hand it to every worker. */
  static sharedBuffer(capacity: number): SharedArrayBuffer {
    const b = new SharedArrayBuffer(TemplateTable.bufferBytes(capacity));
    Slab.init(b, TEMPLATE_FIELDS, capacity);
    return b;
  }

  /** Attaches to a buffer made by sharedBuffer(); every worker constructs its own over the same buffer. */
  constructor(buffer: SharedArrayBuffer, counters: DestCounters) {
    const s = new Slab(buffer, TEMPLATE_FIELDS);
    this.slab = s;
    this.buffer = buffer;
    this.capacity = s.capacity;
    this.counters = counters;
    const views: Pick<TemplateTable, keyof typeof TEMPLATE_FIELDS> = s.fields; // checks names and types
    Object.assign(this, views);
  }

  /** Templates in use (invalidated ones included until they time out). */
  get size(): number {
    return this.slab.size;
  }

  /** create() calls refused because the table was full. */
  get refused(): number {
    return Atomics.load(this.slab.hdr, HDR_REFUSED);
  }

  /** Templates removed by expiry. */
  get expired(): number {
    return Atomics.load(this.slab.hdr, HDR_EXPIRED);
  }

  /** Takes the table lock, spinning (sections are short). Not re-entrant. */
  lock(): void {
    const h = this.slab.hdr;
    while (Atomics.compareExchange(h, HDR_LOCK, 0, 1) !== 0) {
      // Spin on a plain load so the cache line is not written while contended.
      while (Atomics.load(h, HDR_LOCK) !== 0);
    }
  }

  unlock(): void {
    Atomics.store(this.slab.hdr, HDR_LOCK, 0);
  }

  private bucket(proto: number, caddr: number, vaddr: number, vport: number): number {
    let h = Math.imul(caddr ^ Math.imul(vaddr, 0x85ebca6b) ^ (vport << 8) ^ proto, 0x9e3779b1);
    h ^= h >>> 15;
    return h & this.slab.mask;
  }

  /**
   * (Lock held.) The valid template for the key, or -1. An expired one is removed if it
   * owns no connection, else re-armed for 60 s with 60 s as its timeout from then on.
   */
  find(proto: number, caddr: number, vaddr: number, vport: number, nowMs: number): number {
    const s = this.slab;
    let i = s.heads[this.bucket(proto, caddr, vaddr, vport)]!;
    while (i >= 0) {
      const n = s.next[i]!;
      if (this.caddr[i] === caddr && this.vaddr[i] === vaddr && this.vport[i] === vport && this.proto[i] === proto && (this.flags[i]! & T_INVALID) === 0) {
        if (this.expires[i]! > nowMs || this.expireOrRearm(i, nowMs)) return i;
        return -1;
      }
      i = n;
    }
    return -1;
  }

  /** An expired template: re-armed (true) if it still owns connections, else removed (false). */
  private expireOrRearm(i: number, nowMs: number): boolean {
    if (Atomics.load(this.nControl, i) > 0) {
      this.timeoutMs[i] = REARM_MS;
      this.expires[i] = nowMs + REARM_MS;
      return true;
    }
    this.removeEntry(i);
    Atomics.add(this.slab.hdr, HDR_EXPIRED, 1);
    return false;
  }

  /** (Lock held.) §7.2, at a lookup: the template never matches again; it is left to time out. */
  invalidate(i: number): void {
    Atomics.or(this.flags, i, T_INVALID | T_REKEYED);
  }

  /**
   * (Lock held.) A new template pinning `dest`, counted in the server's PersistConn, armed
   * for `timeoutMs`. Returns its index, or -1 when the table is full (counted in refused).
   */
  create(proto: number, caddr: number, vaddr: number, vport: number, daddr: number, dport: number, dest: number, timeoutMs: number, nowMs: number): number {
    const s = this.slab;
    let i = s.alloc();
    if (i < 0 && this.sweepLocked(nowMs, 256) > 0) i = s.alloc();
    if (i < 0) {
      Atomics.add(s.hdr, HDR_REFUSED, 1);
      return -1;
    }
    this.proto[i] = proto;
    this.caddr[i] = caddr;
    this.vaddr[i] = vaddr;
    this.vport[i] = vport;
    this.daddr[i] = daddr;
    this.dport[i] = dport;
    this.dest[i] = dest;
    Atomics.store(this.nControl, i, 0);
    this.timeoutMs[i] = timeoutMs;
    this.expires[i] = nowMs + timeoutMs;
    Atomics.store(this.flags, i, T_USED);
    s.link(i, this.bucket(proto, caddr, vaddr, vport));
    if (dest >= 0) Atomics.add(this.counters.persist, dest, 1);
    return i;
  }

  /** (Lock held.) A new connection is owned by template i: count it and restart the template's timer (§7.2 step 4). */
  attach(i: number, nowMs: number): void {
    Atomics.add(this.nControl, i, 1);
    this.expires[i] = nowMs + this.timeoutMs[i]!;
  }

  /**
   * A connection owned by template i went away. Lock-free when it simply ended; a forced
   * removal (flush, drop_entry, expire_nodest_conn) also deletes a template that is not
   * ASSURED and owns nothing else any more (§2.2).
   */
  release(i: number, forced = false): void {
    if (!forced) {
      Atomics.sub(this.nControl, i, 1);
      return;
    }
    this.lock();
    if (Atomics.sub(this.nControl, i, 1) === 1 && (Atomics.load(this.flags, i) & T_ASSURED) === 0) this.removeEntry(i);
    this.unlock();
  }

  /** An owned TCP connection reached ESTABLISHED, or an owned UDP one got a reply. Lock-free. */
  assure(i: number): void {
    if ((this.flags[i]! & T_ASSURED) === 0) Atomics.or(this.flags, i, T_ASSURED);
  }

  /** Expires up to `budget` examined templates' worth (takes the lock); returns how many were removed. */
  sweep(nowMs: number, budget: number): number {
    this.lock();
    const removed = this.sweepLocked(nowMs, budget);
    this.unlock();
    return removed;
  }

  private sweepLocked(nowMs: number, budget: number): number {
    const h = this.slab.hdr;
    const cap = this.capacity;
    if (cap === 0) return 0;
    let removed = 0;
    let c = h[HDR_CURSOR]!;
    for (let n = 0; n < budget; n++) {
      if (this.flags[c] !== 0 && this.expires[c]! <= nowMs && !this.expireOrRearm(c, nowMs)) removed++;
      c = c + 1 === cap ? 0 : c + 1;
    }
    h[HDR_CURSOR] = c;
    return removed;
  }

  /**
   * drop_entry for templates (§12; takes the lock): of `budget` examined entries, removes
   * those neither ASSURED nor owning a connection. Returns how many.
   */
  defend(budget: number): number {
    this.lock();
    const h = this.slab.hdr;
    const cap = this.capacity;
    let dropped = 0;
    let c = h[HDR_CURSOR]!;
    for (let n = 0; n < budget && cap > 0; n++) {
      const f = this.flags[c]!;
      if (f !== 0 && (f & T_ASSURED) === 0 && Atomics.load(this.nControl, c) === 0) {
        this.removeEntry(c);
        dropped++;
      }
      c = c + 1 === cap ? 0 : c + 1;
    }
    h[HDR_CURSOR] = c;
    this.unlock();
    return dropped;
  }

  /** Invalidates every template pinning server `slot` (it was deleted); takes the lock. Returns how many. */
  invalidateDest(slot: number): number {
    this.lock();
    let n = 0;
    for (let i = 0; i < this.capacity; i++) {
      if (this.flags[i] !== 0 && this.dest[i] === slot && (this.flags[i]! & T_INVALID) === 0) {
        Atomics.or(this.flags, i, T_INVALID);
        n++;
      }
    }
    this.unlock();
    return n;
  }

  /** (Lock held.) */
  private removeEntry(i: number): void {
    const s = this.slab;
    s.unlink(i, this.bucket(this.proto[i]!, this.caddr[i]!, this.vaddr[i]!, this.vport[i]!));
    const d = this.dest[i]!;
    if (d >= 0) Atomics.sub(this.counters.persist, d, 1);
    Atomics.store(this.flags, i, 0);
    this.dest[i] = -1;
    s.free(i);
  }
}
