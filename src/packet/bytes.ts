// Big-endian field access on a Uint8Array. Plain byte loads and shifts: V8 inlines these
// into the caller and keeps the values as untagged integers, so no allocation, and no
// DataView per buffer is needed. Callers bounds-check first; these never check.

/** 16-bit big-endian read. */
export function rd16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/**
 * 32-bit big-endian read as an unsigned number (0..2^32-1). Parsers store such values with
 * the expression written out at the store (U32 comments) rather than through this call:
 * where V8 does not inline a call, a returned uint32 >= 2^31 is boxed, i.e. allocated.
 */
export function rd32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/**
 * 32-bit big-endian read as a SIGNED int32 (same bits as rd32). Checksum and rewrite
 * internals use this: an int32 is always a Smi on 64-bit V8 without pointer compression
 * (Node's default), so it crosses non-inlined calls without being boxed, whereas a uint32
 * of 2^31 or more would be allocated as a HeapNumber at each such call.
 */
export function rd32s(b: Uint8Array, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
}

/** 16-bit big-endian write (the value is truncated to 16 bits). */
export function wr16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

/** 32-bit big-endian write (signed or unsigned input, same bits). */
export function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/** 16-bit little-endian read (virtio_net_hdr fields). */
export function rd16le(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

/** 16-bit little-endian write. */
export function wr16le(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
}

/**
 * Copy len bytes from src[sOff] to dst[dOff]. Within one array this is copyWithin (a
 * memmove, no allocation: prefer one Uint8Array over the whole RX+TX ring mapping). Across
 * arrays, short copies use a byte loop and long ones TypedArray.set, which needs one
 * subarray view (a small, short-lived allocation) because set() takes no source range.
 */
export function copyBytes(dst: Uint8Array, dOff: number, src: Uint8Array, sOff: number, len: number): void {
  if (dst === src) {
    dst.copyWithin(dOff, sOff, sOff + len);
  } else if (len <= 64) {
    for (let i = 0; i < len; i++) dst[dOff + i] = src[sOff + i]!;
  } else {
    dst.set(src.subarray(sOff, sOff + len), dOff);
  }
}
