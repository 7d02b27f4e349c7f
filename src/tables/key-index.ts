// A small open-addressing index from a two-word key (uint32, uint32) to a non-negative int,
// over typed arrays: built once (e.g. per service-table generation), looked up per packet
// without allocation. Used for the service lookup (vaddr, proto<<16|vport) and the set of
// owned addresses (addr, 0).

export class KeyIndex {
  private readonly a: Uint32Array;
  private readonly b: Uint32Array;
  private readonly value: Int32Array;
  private readonly mask: number;
  readonly size: number;

  constructor(entries: readonly (readonly [number, number, number])[]) {
    let cap = 16;
    while (cap < entries.length * 2) cap <<= 1;
    this.mask = cap - 1;
    this.a = new Uint32Array(cap);
    this.b = new Uint32Array(cap);
    this.value = new Int32Array(cap).fill(-1);
    for (const [a, b, v] of entries) {
      let i = this.slot(a, b);
      while (this.value[i] !== -1 && !(this.a[i] === a >>> 0 && this.b[i] === b >>> 0)) i = (i + 1) & this.mask;
      this.a[i] = a;
      this.b[i] = b;
      this.value[i] = v;
    }
    this.size = entries.length;
  }

  private slot(a: number, b: number): number {
    return (Math.imul(a ^ Math.imul(b, 0x85ebca6b), 0x9e3779b1) >>> 16) & this.mask;
  }

  /** The value stored for (a, b), or -1. */
  get(a: number, b: number): number {
    a >>>= 0;
    b >>>= 0;
    let i = this.slot(a, b);
    for (;;) {
      const v = this.value[i]!;
      if (v === -1) return -1;
      if (this.a[i] === a && this.b[i] === b) return v;
      i = (i + 1) & this.mask;
    }
  }
}
