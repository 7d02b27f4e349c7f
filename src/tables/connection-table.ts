// Connection table, after IPVS's ip_vs_conn.c: one entry per flow (client, virtual
// service, real server), found from both directions by hashing the CLIENT endpoint
// (protocol, caddr, cport) — inbound packets carry it as source, NAT replies as
// destination (connections.md §3). Entries are struct-of-arrays in one buffer (slab.ts,
// about 54 bytes each with the buckets), so the control thread can map the buffer of a
// worker's table for a listing (listing.ts); nothing is allocated per packet. One worker
// owns (writes) a table.
//
// Lifetime (§2.2): each packet re-arms the entry for its state's timeout; expiry is lazy
// (a lookup that finds an expired entry removes it) plus an incremental sweep per batch.
// Timeouts changed at run time (ipvsadm --set) apply from an entry's next packet.
//
// Bounded: `capacity` entries. A full table first reclaims expired entries, then evicts by
// drop_entry's rules (§12, ip_vs_random_dropentry): embryonic TCP, or idle established /
// UDP entries with few packets; only if nothing may go is the new flow refused. defend()
// is the once-a-second drop_entry pass, governed by the sysctl's 0..3 modes with "memory
// pressure" meaning the table is above its high-water mark.
//
// Persistence: an entry may be owned by a template of the shared TemplateTable (`control`);
// removing the entry releases it, and an owned entry getting an answer assures it (§7.3).
// Active/inactive counts per real server are global across workers (dest-counters.ts).

import { bindConnection, moveActive, unbindConnection, type DestCounters } from './dest-counters.js';
import { Slab } from './slab.js';
import { ACTIVE_STATE, DEFAULT_TIMEOUTS, STATE_COUNT, TCP_ESTABLISHED, TCP_FIN_WAIT, TCP_NONE, TCP_SYN_RECV, TCP_SYNACK, UDP_STATE } from './tcp-states.js';
import type { TemplateTable } from './template-table.js';

/** Flag bits (the IPVS uapi values where they exist). */
export const CONN_F_MASQ = 0;
export const CONN_F_TUNNEL = 2;
export const CONN_F_DROUTE = 3;
export const CONN_F_FWD_MASK = 7;
/** No reply direction is seen (DR/TUN): INPUT-ONLY state table. */
export const CONN_F_NOOUTPUT = 0x80;

export const CONNECTION_FIELDS = {
  proto: 'u8', // 0 = free entry
  state: 'u8',
  flags: 'u16',
  caddr: 'u32',
  vaddr: 'u32',
  daddr: 'u32',
  cport: 'u16',
  vport: 'u16',
  dport: 'u16',
  dest: 'i32',
  control: 'i32',
  inPkts: 'u32',
  armedMs: 'u32',
  expires: 'f64',
} as const;

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
/** IPVS: a new entry lives 3 s until its first packet sets the state's timeout. */
const INITIAL_MS = 3000;
/** drop_entry: established/UDP entries are candidates only after this long idle. */
const DROP_IDLE_MS = 60_000;
/** Entries examined per reclaim or eviction attempt when an insert finds the table full. */
const SCAN = 256;

/** Timeouts in seconds as ipvsadm --set takes them; 0 (or absent) keeps the current value. */
export interface Timeouts {
  tcp?: number;
  tcpfin?: number;
  udp?: number;
}

export interface ConnectionTableOptions {
  /** Maximum entries. Default 262144. */
  capacity?: number;
  /** Timeouts in seconds by state (TCP states then UDP); default IPVS's. */
  timeouts?: readonly number[];
  /** Storage of bufferBytes(capacity) bytes (a SharedArrayBuffer to list it from another thread); initialised here. */
  buffer?: SharedArrayBuffer | ArrayBuffer;
  /** The shared persistence templates that entries may be owned by. */
  templates?: TemplateTable;
  /** drop_entry mode 0..3 (off, auto-off, auto-on, always) for defend(). Default 0, as the sysctl. */
  dropEntry?: number;
  /** defend()'s memory pressure: size at or above this fraction of capacity. Default 0.9. */
  highWater?: number;
}

export class ConnectionTable {
  readonly capacity: number;
  readonly buffer: SharedArrayBuffer | ArrayBuffer;
  /** Timeouts in ms by state; settable at run time (setTimeouts, ipvsadm --set). */
  readonly timeoutMs = new Float64Array(STATE_COUNT);
  // Per-entry arrays (CONNECTION_FIELDS), views into the one buffer; assigned in the constructor.
  declare readonly proto: Uint8Array;
  declare readonly state: Uint8Array;
  declare readonly flags: Uint16Array;
  declare readonly caddr: Uint32Array;
  declare readonly vaddr: Uint32Array;
  declare readonly daddr: Uint32Array;
  declare readonly cport: Uint16Array;
  declare readonly vport: Uint16Array;
  declare readonly dport: Uint16Array;
  /** Real-server stats slot of the entry (index into the shared counters). */
  declare readonly dest: Int32Array;
  /** Owning persistence template (index in the TemplateTable), -1 none. */
  declare readonly control: Int32Array;
  /** Incoming packets (IPVS in_pkts; wraps at 2^32 as the kernel's atomic_t). */
  declare readonly inPkts: Uint32Array;
  /** The timeout the entry was last armed with, ms (IPVS cp->timeout). */
  declare readonly armedMs: Uint32Array;
  /** Expiry time, ms since the epoch. */
  declare readonly expires: Float64Array;
  /** New flows refused because the table was full and nothing could be evicted. */
  refused = 0;
  /** Entries removed by expiry. */
  expired = 0;
  /** Evicted by drop_entry rules: embryonic TCP (SYN_RECV, SYNACK). */
  evictedEmbryonic = 0;
  /** Evicted by drop_entry rules: idle ESTABLISHED / UDP entries with few packets. */
  evictedIdle = 0;
  /** drop_entry mode, 0..3 (connections.md §12). */
  dropEntry: number;
  readonly highWater: number;

  private readonly slab: Slab<typeof CONNECTION_FIELDS>;
  private readonly counters: DestCounters;
  private readonly templates: TemplateTable | undefined;
  /** drop_entry's "one of every in_pkts" counters, by in_pkts 1..8. */
  private readonly todrop = new Int32Array(9);
  private sweepCursor = 0;
  private evictCursor = 0;

  static bufferBytes(capacity: number): number {
    return Slab.bytes(CONNECTION_FIELDS, capacity);
  }

  constructor(counters: DestCounters, options: ConnectionTableOptions = {}) {
    const cap = options.capacity ?? 262144;
    const s = Slab.init(options.buffer ?? new ArrayBuffer(ConnectionTable.bufferBytes(cap)), CONNECTION_FIELDS, cap);
    this.slab = s;
    this.buffer = s.buffer;
    this.capacity = cap;
    this.counters = counters;
    this.templates = options.templates;
    this.dropEntry = options.dropEntry ?? 0;
    this.highWater = options.highWater ?? 0.9;
    const views: Pick<ConnectionTable, keyof typeof CONNECTION_FIELDS> = s.fields; // checks names and types
    Object.assign(this, views);
    const t = options.timeouts ?? DEFAULT_TIMEOUTS;
    for (let st = 0; st < STATE_COUNT; st++) this.timeoutMs[st] = t[st]! * 1000;
  }

  /** Entries in use. */
  get size(): number {
    return this.slab.size;
  }

  private bucket(proto: number, caddr: number, cport: number): number {
    let h = Math.imul(caddr ^ (cport << 16) ^ proto, 0x9e3779b1);
    h ^= h >>> 15;
    return h & this.slab.mask;
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
    const next = this.slab.next;
    let i = this.slab.heads[this.bucket(proto, caddr, cport)]!;
    while (i >= 0) {
      const n = next[i]!;
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
   * first state transition. `control`: the owning template, already attach()ed by the
   * caller; the entry takes over that reference, released when the entry goes. Returns
   * the index, or -1 when the table is full and nothing could be evicted (the caller then
   * still holds the reference and must release it).
   */
  insert(proto: number, caddr: number, cport: number, vaddr: number, vport: number, daddr: number, dport: number, flags: number, dest: number, nowMs: number, control = -1): number {
    const s = this.slab;
    let i = s.alloc();
    if (i < 0 && this.reclaim(nowMs)) i = s.alloc();
    if (i < 0) {
      this.refused++;
      return -1;
    }
    this.proto[i] = proto;
    this.state[i] = proto === IPPROTO_UDP ? UDP_STATE : TCP_NONE;
    this.flags[i] = flags;
    this.caddr[i] = caddr;
    this.cport[i] = cport;
    this.vaddr[i] = vaddr;
    this.vport[i] = vport;
    this.daddr[i] = daddr;
    this.dport[i] = dport;
    this.dest[i] = dest;
    this.control[i] = control;
    this.inPkts[i] = 0;
    this.armedMs[i] = INITIAL_MS;
    this.expires[i] = nowMs + INITIAL_MS;
    s.link(i, this.bucket(proto, caddr, cport));
    if (dest >= 0) bindConnection(this.counters, dest);
    return i;
  }

  /**
   * Moves entry i to `state`, re-arming its timer with that state's current timeout and
   * keeping active/inactive counts right; reaching ESTABLISHED assures the owning template.
   */
  setState(i: number, state: number, nowMs: number): void {
    const old = this.state[i]!;
    const t = this.timeoutMs[state]!;
    this.armedMs[i] = t < 0xffffffff ? t : 0xffffffff; // only idle-time and sync read it
    this.expires[i] = nowMs + t;
    if (old === state) return;
    this.state[i] = state;
    if (state === TCP_ESTABLISHED && this.control[i]! >= 0) this.templates?.assure(this.control[i]!);
    const d = this.dest[i]!;
    if (d < 0 || ACTIVE_STATE[old] === ACTIVE_STATE[state]) return;
    moveActive(this.counters, d, ACTIVE_STATE[state] === 1);
  }

  /** Counts an incoming (client->server) packet on entry i; returns the new count (sync uses it). */
  countIn(i: number): number {
    return (this.inPkts[i] = (this.inPkts[i]! + 1) >>> 0);
  }

  /** A server->client UDP packet on entry i: re-arms it (§5) and assures the owning template (§7.3). */
  udpReply(i: number, nowMs: number): void {
    this.setState(i, UDP_STATE, nowMs);
    const c = this.control[i]!;
    if (c >= 0) this.templates?.assure(c);
  }

  /**
   * Removes entry i, releasing its count on the real server and its template. `forced`
   * (flush, eviction, expireDest) also deletes a template left unassured and unused (§2.2).
   */
  remove(i: number, forced = false): void {
    if (this.proto[i] === 0 || !this.slab.unlink(i, this.bucket(this.proto[i]!, this.caddr[i]!, this.cport[i]!))) return; // already free
    const d = this.dest[i]!;
    if (d >= 0) unbindConnection(this.counters, d, ACTIVE_STATE[this.state[i]!] === 1);
    const c = this.control[i]!;
    if (c >= 0) this.templates?.release(c, forced);
    this.proto[i] = 0;
    this.dest[i] = -1;
    this.control[i] = -1;
    this.slab.free(i);
  }

  /** Removes the expired entries among `budget` examined ones; returns how many it removed. */
  sweep(nowMs: number, budget: number): number {
    const cap = this.capacity;
    if (cap === 0) return 0;
    let removed = 0;
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

  /** A full table: frees one entry if it can, by expiry first, then by drop_entry's rules. */
  private reclaim(nowMs: number): boolean {
    return this.sweep(nowMs, SCAN) > 0 || this.evict(nowMs, SCAN, 1) > 0;
  }

  /** Examines `budget` entries from the rotating cursor, evicting up to `max` drop_entry candidates. */
  private evict(nowMs: number, budget: number, max: number): number {
    const cap = this.capacity;
    let dropped = 0;
    let c = this.evictCursor;
    for (let n = 0; n < budget && dropped < max && cap > 0; n++) {
      const kind = this.dropKind(c, nowMs);
      if (kind !== 0) {
        this.remove(c, true);
        if (kind === 1) this.evictedEmbryonic++;
        else this.evictedIdle++;
        dropped++;
      }
      c = c + 1 === cap ? 0 : c + 1;
    }
    this.evictCursor = c;
    return dropped;
  }

  /**
   * drop_entry's verdict on entry i: 0 keep, 1 embryonic (TCP SYN_RECV/SYNACK, always),
   * 2 idle (TCP ESTABLISHED or non-TCP, idle ≥ 60 s with in_pkts 1..8: one of every
   * in_pkts such). Other TCP states stay. (Connections here never own others.)
   */
  private dropKind(i: number, nowMs: number): number {
    const proto = this.proto[i]!;
    if (proto === 0) return 0;
    if (proto === IPPROTO_TCP) {
      const st = this.state[i]!;
      if (st === TCP_SYN_RECV || st === TCP_SYNACK) return 1;
      if (st !== TCP_ESTABLISHED) return 0;
    }
    if (nowMs - (this.expires[i]! - this.armedMs[i]!) < DROP_IDLE_MS) return 0;
    const p = this.inPkts[i]!;
    if (p < 1 || p > 8) return 0;
    if (--this.todrop[p]! > 0) return 0;
    this.todrop[p] = p;
    return 2;
  }

  /**
   * The once-a-second drop_entry pass (§12) for mode `mode` (the sysctl; default the
   * table's own): 0 off, 1/2 automatic — on while the table is at or above its high-water
   * mark ("memory pressure"; `dropEntry` then reads 2, else 1) — 3 always on. When on,
   * examines capacity/32 entries and evicts every candidate. Returns how many it evicted.
   */
  defend(nowMs: number, mode = this.dropEntry): number {
    let on = mode >= 3;
    if (mode === 1 || mode === 2) {
      on = this.size >= this.highWater * this.capacity;
      mode = on ? 2 : 1;
    }
    this.dropEntry = mode;
    if (!on) return 0;
    const budget = Math.max(1, this.capacity >>> 5);
    return this.evict(nowMs, budget, budget);
  }

  /** ipvsadm --set tcp tcpfin udp (seconds; 0 keeps the current value). Entries pick it up at their next packet. */
  setTimeouts(t: Timeouts): void {
    if (t.tcp) this.timeoutMs[TCP_ESTABLISHED] = t.tcp * 1000;
    if (t.tcpfin) this.timeoutMs[TCP_FIN_WAIT] = t.tcpfin * 1000;
    if (t.udp) this.timeoutMs[UDP_STATE] = t.udp * 1000;
  }

  /** The current --set timeouts, seconds. */
  timeouts(): Required<Timeouts> {
    return { tcp: this.timeoutMs[TCP_ESTABLISHED]! / 1000, tcpfin: this.timeoutMs[TCP_FIN_WAIT]! / 1000, udp: this.timeoutMs[UDP_STATE]! / 1000 };
  }

  /** expire_nodest_conn: removes every entry of real server `slot` (forced); returns how many. */
  expireDest(slot: number): number {
    let n = 0;
    for (let i = 0; i < this.capacity; i++) {
      if (this.proto[i] !== 0 && this.dest[i] === slot) {
        this.remove(i, true);
        n++;
      }
    }
    return n;
  }

  /** Removes every entry (flush, shutdown), releasing counts and templates. */
  clear(): void {
    for (let i = 0; i < this.capacity; i++) if (this.proto[i] !== 0) this.remove(i, true);
  }
}
