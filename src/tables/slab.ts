// Storage shared by the connection table (connection-table.ts) and the persistence-template
// table (template-table.ts): the shape of IPVS's ip_vs_conn_tab (ip_vs_conn.c) over typed
// arrays. Entries are struct-of-arrays in ONE buffer, so another thread can map the same
// memory (a listing, or every worker for the shared template table); they are chained per
// hash bucket through `next`, and free entries are chained through `next` too.
//
// Buffer layout: HEADER_CELLS Int32 cells, the bucket heads, `next`, then each field array
// in the order given, every array starting on an 8-byte boundary. The header carries the
// capacity, so a reader needs only the buffer and the field list.

/** Header cells used here; cells from HDR_USER on belong to the table built on the slab. */
const HDR_CAPACITY = 0;
const HDR_FREE = 1;
const HDR_SIZE = 2;
export const HDR_USER = 4;
const HEADER_CELLS = 16;

interface ArrayTypes {
  u8: Uint8Array;
  u16: Uint16Array;
  u32: Uint32Array;
  i32: Int32Array;
  f64: Float64Array;
}
const ARRAYS = { u8: Uint8Array, u16: Uint16Array, u32: Uint32Array, i32: Int32Array, f64: Float64Array } as const;

/** Field name -> element type, e.g. { caddr: 'u32', expires: 'f64' }. */
export type FieldSpec = Readonly<Record<string, keyof ArrayTypes>>;
export type FieldViews<F extends FieldSpec> = { readonly [K in keyof F]: ArrayTypes[F[K]] };

const align8 = (n: number): number => (n + 7) & ~7;

/** Power-of-two bucket count, about one bucket per entry. */
function bucketCount(capacity: number): number {
  let b = 16;
  while (b < capacity) b <<= 1;
  return b;
}

function layout(spec: FieldSpec, capacity: number): { offsets: number[]; bytes: number } {
  const offsets: number[] = [];
  let off = align8(HEADER_CELLS * 4 + bucketCount(capacity) * 4); // header + heads
  off = align8(off + capacity * 4); // next
  for (const k of Object.keys(spec)) {
    offsets.push(off);
    off = align8(off + capacity * ARRAYS[spec[k]!].BYTES_PER_ELEMENT);
  }
  return { offsets, bytes: off };
}

export class Slab<F extends FieldSpec> {
  readonly buffer: SharedArrayBuffer | ArrayBuffer;
  readonly capacity: number;
  /** Header cells (Int32); the table's own cells start at HDR_USER. */
  readonly hdr: Int32Array;
  readonly heads: Int32Array;
  readonly next: Int32Array;
  readonly mask: number;
  readonly fields: FieldViews<F>;

  /** Bytes of a buffer for `capacity` entries of these fields. */
  static bytes(spec: FieldSpec, capacity: number): number {
    return layout(spec, capacity).bytes;
  }

  /**
   * Writes the header and threads every entry onto the free list: done once, by whoever
   * owns the buffer (fields are left zeroed, i.e. free), then returns views over it.
   */
  static init<F extends FieldSpec>(buffer: SharedArrayBuffer | ArrayBuffer, spec: F, capacity: number): Slab<F> {
    if (buffer.byteLength < Slab.bytes(spec, capacity)) throw new RangeError(`buffer of ${buffer.byteLength} bytes is too small for ${capacity} entries`);
    const hdr = new Int32Array(buffer, 0, HEADER_CELLS);
    hdr.fill(0);
    hdr[HDR_CAPACITY] = capacity;
    const s = new Slab(buffer, spec);
    s.heads.fill(-1);
    for (let i = 0; i < capacity; i++) s.next[i] = i + 1 < capacity ? i + 1 : -1;
    hdr[HDR_FREE] = capacity > 0 ? 0 : -1;
    return s;
  }

  /** Views over a buffer already initialised by Slab.init (capacity read from its header). */
  constructor(buffer: SharedArrayBuffer | ArrayBuffer, spec: F) {
    this.buffer = buffer;
    this.hdr = new Int32Array(buffer, 0, HEADER_CELLS);
    const cap = this.hdr[HDR_CAPACITY]!;
    this.capacity = cap;
    const buckets = bucketCount(cap);
    this.mask = buckets - 1;
    this.heads = new Int32Array(buffer, HEADER_CELLS * 4, buckets);
    this.next = new Int32Array(buffer, align8(HEADER_CELLS * 4 + buckets * 4), cap);
    const { offsets } = layout(spec, cap);
    const views: Record<string, ArrayTypes[keyof ArrayTypes]> = {};
    Object.keys(spec).forEach((k, n) => {
      const A = ARRAYS[spec[k]!] as Float64ArrayConstructor; // any of them: same constructor shape
      views[k] = new A(buffer, offsets[n]!, cap);
    });
    this.fields = views as FieldViews<F>;
  }

  /** Entries in use. */
  get size(): number {
    return this.hdr[HDR_SIZE]!;
  }

  /** Takes an entry off the free list; -1 when none is left. */
  alloc(): number {
    const i = this.hdr[HDR_FREE]!;
    if (i < 0) return -1;
    this.hdr[HDR_FREE] = this.next[i]!;
    this.hdr[HDR_SIZE]++;
    return i;
  }

  /** Puts an (unlinked) entry back on the free list. */
  free(i: number): void {
    this.next[i] = this.hdr[HDR_FREE]!;
    this.hdr[HDR_FREE] = i;
    this.hdr[HDR_SIZE]--;
  }

  /** Pushes entry i at the head of bucket b's chain. */
  link(i: number, b: number): void {
    this.next[i] = this.heads[b]!;
    this.heads[b] = i;
  }

  /** Takes entry i out of bucket b's chain; false if it is not there. */
  unlink(i: number, b: number): boolean {
    let p = this.heads[b]!;
    if (p === i) {
      this.heads[b] = this.next[i]!;
      return true;
    }
    while (p >= 0 && this.next[p] !== i) p = this.next[p]!;
    if (p < 0) return false;
    this.next[p] = this.next[i]!;
    return true;
  }
}
