// Connection table, after IPVS's ip_vs_conn.c: one entry per flow (client, virtual
// service, real server), found from both directions by hashing the CLIENT endpoint
// (protocol, caddr, cport) — inbound packets carry it as source, NAT replies as
// destination (connections.md §3). Entries live in typed arrays (about 40 bytes each),
// chained per bucket, with a free list; nothing is allocated per packet.
//
// Bounded: `capacity` entries at most. When full, expired entries are reclaimed first;
// if none, the new flow is refused and counted (`refused`). Expiry is lazy (a lookup that
// finds an expired entry removes it) plus an incremental sweep the worker runs each batch.
//
// Active/inactive counts per real server are global across workers: they live in shared
// Int32Arrays (indexed by the real server's stats slot) and change with Atomics.

import { bindConnection, moveActive, unbindConnection, type DestCounters } from './dest-counters.js';
import { ACTIVE_STATE, DEFAULT_TIMEOUTS, STATE_COUNT, TCP_NONE, UDP_STATE } from './tcp-states.js';

/** Flag bits (the IPVS uapi values where they exist). */
export const CONN_F_MASQ = 0;
export const CONN_F_TUNNEL = 2;
export const CONN_F_DROUTE = 3;
export const CONN_F_FWD_MASK = 7;
/** No reply direction is seen (DR/TUN): INPUT-ONLY state table. */
export const CONN_F_NOOUTPUT = 0x80;


export interface ConnectionTableOptions {
  /** Maximum entries. Default 262144. */
  capacity?: number;
  /** Timeouts in seconds by state (TCP states then UDP); default IPVS's. */
  timeouts?: readonly number[];
}

export class ConnectionTable {
  readonly capacity: number;
  /** Timeouts in ms by state; settable at run time (ipvsadm --set). */
  readonly timeoutMs = new Float64Array(STATE_COUNT);
  readonly proto: Uint8Array;
  readonly state: Uint8Array;
  readonly flags: Uint8Array;
  readonly caddr: Uint32Array;
  readonly vaddr: Uint32Array;
  readonly daddr: Uint32Array;
  readonly cport: Uint16Array;
  readonly vport: Uint16Array;
  readonly dport: Uint16Array;
  /** Real-server stats slot of the entry (index into the shared counters). */
  readonly dest: Int32Array;
  /** Expiry time, ms since the epoch. */
  readonly expires: Float64Array;
  /** Entries in use. */
  size = 0;
  /** New flows refused because the table was full. */
  refused = 0;
  /** Entries removed by expiry. */
  expired = 0;

  private readonly next: Int32Array;
  private readonly heads: Int32Array;
  private readonly bucketMask: number;
  private readonly counters: DestCounters;
  private freeHead: number;
  private sweepCursor = 0;

  constructor(counters: DestCounters, options: ConnectionTableOptions = {}) {
    const cap = options.capacity ?? 262144;
    this.capacity = cap;
    this.counters = counters;
    this.proto = new Uint8Array(cap);
    this.state = new Uint8Array(cap);
    this.flags = new Uint8Array(cap);
    this.caddr = new Uint32Array(cap);
    this.vaddr = new Uint32Array(cap);
    this.daddr = new Uint32Array(cap);
    this.cport = new Uint16Array(cap);
    this.vport = new Uint16Array(cap);
    this.dport = new Uint16Array(cap);
    this.dest = new Int32Array(cap).fill(-1);
    this.expires = new Float64Array(cap);
    this.next = new Int32Array(cap);
    let buckets = 16;
    while (buckets < cap) buckets <<= 1;
    this.heads = new Int32Array(buckets).fill(-1);
    this.bucketMask = buckets - 1;
    // Free list through `next`; proto 0 marks a free entry.
    for (let i = 0; i < cap; i++) this.next[i] = i + 1 < cap ? i + 1 : -1;
    this.freeHead = cap > 0 ? 0 : -1;
    const t = options.timeouts ?? DEFAULT_TIMEOUTS;
    for (let s = 0; s < STATE_COUNT; s++) this.timeoutMs[s] = t[s]! * 1000;
  }

  private bucket(proto: number, caddr: number, cport: number): number {
    let h = Math.imul(caddr ^ (cport << 16) ^ proto, 0x9e3779b1);
    h ^= h >>> 15;
    return h & this.bucketMask;
  }

  /** Inbound lookup: a client->virtual-service packet. Returns the entry or -1. */
  lookupIn(proto: number, caddr: number, cport: number, vaddr: number, vport: number, nowMs: number): number {
    return this.lookup(proto, caddr, cport, this.vaddr, this.vport, vaddr, vport, nowMs);
  }

  /** Outbound lookup: a real server's reply (NAT), matched on the client (packet destination) and the server (packet source). */
  lookupOut(proto: number, caddr: number, cport: number, daddr: number, dport: number, nowMs: number): number {
    return this.lookup(proto, caddr, cport, this.daddr, this.dport, daddr, dport, nowMs);
  }

  /** Both lookups hash the client endpoint and differ only in which other end they match. */
  private lookup(proto: number, caddr: number, cport: number, addrs: Uint32Array, ports: Uint16Array, addr: number, port: number, nowMs: number): number {
    let i = this.heads[this.bucket(proto, caddr, cport)]!;
    while (i >= 0) {
      const n = this.next[i]!;
      if (this.caddr[i] === caddr && this.cport[i] === cport && addrs[i] === addr && ports[i] === port && this.proto[i] === proto) {
        if (this.expires[i]! <= nowMs) {
          this.remove(i);
          this.expired++;
          return -1;
        }
        return i;
      }
      i = n;
    }
    return -1;
  }

  /**
   * Creates an entry, counted as inactive on its real server (as IPVS does) until the
   * first state transition. Returns the index, or -1 when the table is full.
   */
  insert(proto: number, caddr: number, cport: number, vaddr: number, vport: number, daddr: number, dport: number, flags: number, dest: number, nowMs: number): number {
    if (this.freeHead < 0 && this.sweep(nowMs, 256) === 0 && this.freeHead < 0) {
      this.refused++;
      return -1;
    }
    const i = this.freeHead;
    this.freeHead = this.next[i]!;
    this.proto[i] = proto;
    this.state[i] = proto === 17 ? UDP_STATE : TCP_NONE;
    this.flags[i] = flags;
    this.caddr[i] = caddr;
    this.cport[i] = cport;
    this.vaddr[i] = vaddr;
    this.vport[i] = vport;
    this.daddr[i] = daddr;
    this.dport[i] = dport;
    this.dest[i] = dest;
    this.expires[i] = nowMs + 3000; // IPVS: 3 s until the first packet sets the state's timeout
    const b = this.bucket(proto, caddr, cport);
    this.next[i] = this.heads[b]!;
    this.heads[b] = i;
    this.size++;
    if (dest >= 0) bindConnection(this.counters, dest);
    return i;
  }

  /** Moves entry i to `state`, re-arming its timer and keeping active/inactive counts right. */
  setState(i: number, state: number, nowMs: number): void {
    const old = this.state[i]!;
    this.expires[i] = nowMs + this.timeoutMs[state]!;
    if (old === state) return;
    this.state[i] = state;
    const d = this.dest[i]!;
    if (d < 0 || ACTIVE_STATE[old] === ACTIVE_STATE[state]) return;
    moveActive(this.counters, d, ACTIVE_STATE[state] === 1);
  }

  /** Removes entry i, releasing its count on the real server. */
  remove(i: number): void {
    const b = this.bucket(this.proto[i]!, this.caddr[i]!, this.cport[i]!);
    let p = this.heads[b]!;
    if (p === i) this.heads[b] = this.next[i]!;
    else {
      while (p >= 0 && this.next[p] !== i) p = this.next[p]!;
      if (p < 0) return; // not linked: already free
      this.next[p] = this.next[i]!;
    }
    const d = this.dest[i]!;
    if (d >= 0) unbindConnection(this.counters, d, ACTIVE_STATE[this.state[i]!] === 1);
    this.proto[i] = 0;
    this.dest[i] = -1;
    this.next[i] = this.freeHead;
    this.freeHead = i;
    this.size--;
  }

  /** Removes up to `budget` examined entries' worth of expired ones; returns how many it removed. */
  sweep(nowMs: number, budget: number): number {
    let removed = 0;
    const cap = this.capacity;
    let c = this.sweepCursor;
    for (let n = 0; n < budget; n++) {
      if (this.proto[c] !== 0 && this.expires[c]! <= nowMs) {
        this.remove(c);
        this.expired++;
        removed++;
      }
      c = c + 1 === cap ? 0 : c + 1;
    }
    this.sweepCursor = c;
    return removed;
  }

  /** Removes every entry (e.g. on shutdown), releasing counts. */
  clear(): void {
    for (let i = 0; i < this.capacity; i++) if (this.proto[i] !== 0) this.remove(i);
  }
}
