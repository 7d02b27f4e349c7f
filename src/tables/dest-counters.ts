// Per-real-server connection counts and the OVERLOAD flag, shared by every worker: what
// IPVS keeps in struct ip_vs_dest (activeconns, inactconns, persistconns, flags) and
// updates in ip_vs_bind_dest / ip_vs_unbind_dest (ip_vs_conn.c). Each array is indexed by
// the real server's stats slot and lives in a SharedArrayBuffer; cells change with Atomics
// so the schedulers of every worker see one global count (schedulers.md §0.2, §0.5).

/** Arrays in the shared buffer, in this order, each `maxDests` Int32 cells. */
const FIELDS = ['active', 'inactive', 'persist', 'overload', 'upper', 'lower'] as const;

export interface DestCounters {
  /** Connections in an active TCP state (ESTABLISHED, SYN_SENT, SYN_RECV, SYNACK). */
  active: Int32Array;
  /** Every other connection (UDP always). */
  inactive: Int32Array;
  /** Persistence templates pointing at the server (PersistConn); not used by schedulers. */
  persist: Int32Array;
  /** 1 = OVERLOAD (over the upper threshold, not yet back under the lower one). */
  overload: Int32Array;
  /** Upper and lower connection thresholds (-x / -y); 0 = none. */
  upper: Int32Array;
  lower: Int32Array;
}

export function destCountersBytes(maxDests: number): number {
  return FIELDS.length * maxDests * 4;
}

/** Views over a buffer of destCountersBytes(maxDests) bytes (shared between workers, or plain for tests and the simulator). */
export function destCountersOver(buffer: SharedArrayBuffer | ArrayBuffer, maxDests: number): DestCounters {
  const view = (k: number): Int32Array => new Int32Array(buffer, k * maxDests * 4, maxDests);
  return { active: view(0), inactive: view(1), persist: view(2), overload: view(3), upper: view(4), lower: view(5) };
}

export function createDestCounters(maxDests: number, shared = false): DestCounters {
  const bytes = destCountersBytes(maxDests);
  return destCountersOver(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes), maxDests);
}

/**
 * A new connection is bound to the server: counted inactive (the first state transition
 * moves it), then OVERLOAD is set once the total reaches the upper threshold.
 */
export function bindConnection(c: DestCounters, slot: number): void {
  const inactive = Atomics.add(c.inactive, slot, 1) + 1;
  const upper = c.upper[slot]!;
  if (upper !== 0 && Atomics.load(c.active, slot) + inactive >= upper) Atomics.store(c.overload, slot, 1);
}

/**
 * A connection is released. OVERLOAD clears below the lower threshold, or with no lower
 * threshold below 75% of the upper one, or at once with no thresholds.
 */
export function unbindConnection(c: DestCounters, slot: number, active: boolean): void {
  if (active) Atomics.sub(c.active, slot, 1);
  else Atomics.sub(c.inactive, slot, 1);
  if (c.overload[slot] === 0) return;
  const total = Atomics.load(c.active, slot) + Atomics.load(c.inactive, slot);
  const lower = c.lower[slot]!;
  const upper = c.upper[slot]!;
  if (lower !== 0 ? total < lower : upper !== 0 ? total * 4 < upper * 3 : true) Atomics.store(c.overload, slot, 0);
}

/** A connection entered (true) or left (false) an active state. */
export function moveActive(c: DestCounters, slot: number, toActive: boolean): void {
  if (toActive) {
    Atomics.sub(c.inactive, slot, 1);
    Atomics.add(c.active, slot, 1);
  } else {
    Atomics.sub(c.active, slot, 1);
    Atomics.add(c.inactive, slot, 1);
  }
}

/**
 * Sets a server's thresholds (ipvsadm -a/-e -x -y). As ip_vs_ctl.c: when the new upper
 * threshold is 0 or above the old one, OVERLOAD clears at once.
 */
export function setThresholds(c: DestCounters, slot: number, upper: number, lower: number): void {
  const old = c.upper[slot]!;
  if (upper === 0 || upper > old) Atomics.store(c.overload, slot, 0);
  Atomics.store(c.upper, slot, upper);
  Atomics.store(c.lower, slot, lower);
}

/** Zeroes a slot (a new real server takes it over). */
export function resetSlot(c: DestCounters, slot: number): void {
  for (const k of FIELDS) Atomics.store(c[k], slot, 0);
}
