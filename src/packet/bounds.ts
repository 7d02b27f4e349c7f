// Argument check shared by the entry points: a caller bug (offset/length outside the
// buffer, NaN, negative) becomes reason BAD_BOUNDS instead of out-of-range reads, which
// in V8 both return undefined and deoptimise the caller.

/** True when [offset, offset + length) is a valid integer range inside b. */
export function checkBounds(b: Uint8Array, offset: number, length: number): boolean {
  return (offset | 0) === offset && (length | 0) === length && offset >= 0 && length >= 0 && offset + length <= b.length;
}
