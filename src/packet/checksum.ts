// Internet checksum (RFC 1071) and incremental updates (RFC 1624).
//
// Sums are kept "unfolded": a plain integer that is the one's-complement sum modulo
// 0xffff, folded to 16 bits only at the end. Word loops add 16-bit words into a local
// that stays below 2^31 (we fold every 32 KiB), so V8 keeps it an int32 register and
// never boxes it.
//
// Incremental updates use RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'): a "diff" is the sum
// ~m + m' over the changed 16-bit words, and applying it to a checksum gives the same
// value a from-scratch computation would (never the 0xffff/-0 form, RFC 1624 section 3).
//
// Partial checksums (virtio NEEDS_CSUM, CHECKSUM_PARTIAL): the field holds the folded
// pseudo-header sum, NOT complemented, and the device/stack will later sum the segment
// from csum_start and store the complement. Changing an address then changes that stored
// sum directly: P' = P + ~m + m' (IPVS's *_partial_csum_update), the opposite sense of a
// normal checksum; port changes are in the data that will be summed, so they do not
// touch P at all (the rewrite helpers skip them).

import { rd16, wr16 } from './bytes.js';
import type { FrameInfo } from './info.js';
import { FRAG_NONE } from './info.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from './protocols.js';

/**
 * One's-complement sum of the 16-bit big-endian words in b[start, end), added to acc.
 * An odd final byte is padded with a zero byte. Returns an unfolded sum < 2^31 (acc must
 * be < 2^31 too). When chaining ranges, every range but the last must have even length.
 */
export function sumWords(b: Uint8Array, start: number, end: number, acc: number): number {
  // Fold acc first so the chunk loop below cannot overflow int32.
  let s = (acc & 0xffff) + (acc >>> 16);
  let i = start;
  const last = end - 1; // a word starting at i needs i <= end - 2, i.e. i < last
  while (i < last) {
    // 32 KiB chunk = 16384 words * 0xffff < 2^30: no int32 overflow before the fold.
    let lim = i + 0x8000;
    if (lim > last) lim = last;
    // 8 bytes per iteration: fewer loop checks, independent adds.
    while (i + 7 < lim) {
      s +=
        ((b[i]! << 8) | b[i + 1]!) +
        ((b[i + 2]! << 8) | b[i + 3]!) +
        ((b[i + 4]! << 8) | b[i + 5]!) +
        ((b[i + 6]! << 8) | b[i + 7]!);
      i += 8;
    }
    while (i < lim) {
      s += (b[i]! << 8) | b[i + 1]!;
      i += 2;
    }
    s = (s & 0xffff) + (s >>> 16);
  }
  if (i < end) s += b[i]! << 8;
  return s;
}

/** Fold an unfolded sum (< 2^32) to 16 bits, end-around carry; not complemented. */
export function fold(sum: number): number {
  let s = (sum & 0xffff) + (sum >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The Internet checksum of b[start, end): complement of the folded sum, 16 bits. */
export function internetChecksum(b: Uint8Array, start: number, end: number): number {
  return ~fold(sumWords(b, start, end, 0)) & 0xffff;
}

/** Unfolded sum of the IPv4 pseudo-header (src, dst as uint32, protocol, upper-layer length). */
export function pseudoSumV4(src: number, dst: number, proto: number, len: number): number {
  return (
    (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + (len >>> 16) + (len & 0xffff)
  );
}

/** Unfolded sum of 8 words (one IPv6 address) at b[off]. */
export function sumAddr6(b: Uint8Array, off: number): number {
  return (
    ((b[off]! << 8) | b[off + 1]!) +
    ((b[off + 2]! << 8) | b[off + 3]!) +
    ((b[off + 4]! << 8) | b[off + 5]!) +
    ((b[off + 6]! << 8) | b[off + 7]!) +
    ((b[off + 8]! << 8) | b[off + 9]!) +
    ((b[off + 10]! << 8) | b[off + 11]!) +
    ((b[off + 12]! << 8) | b[off + 13]!) +
    ((b[off + 14]! << 8) | b[off + 15]!)
  );
}

/**
 * Unfolded sum of the IPv6 pseudo-header (RFC 8200 8.1): addresses at b[srcOff] and
 * b[dstOff], 32-bit upper-layer length, next header.
 */
export function pseudoSumV6(b: Uint8Array, srcOff: number, dstOff: number, proto: number, len: number): number {
  return sumAddr6(b, srcOff) + sumAddr6(b, dstOff) + proto + (len >>> 16) + (len & 0xffff);
}

/** Diff (~m + m') for one 16-bit word changing from oldV to newV. */
export function diff16(oldV: number, newV: number): number {
  return (~oldV & 0xffff) + (newV & 0xffff);
}

/** Diff for a 32-bit field (e.g. an IPv4 address) changing from oldV to newV. */
export function diff32(oldV: number, newV: number): number {
  return (~oldV >>> 16) + (~oldV & 0xffff) + (newV >>> 16) + (newV & 0xffff);
}

/** Diff for a 128-bit field (an IPv6 address) changing from b[oldOff] to nb[newOff]. */
export function diff128(b: Uint8Array, oldOff: number, nb: Uint8Array, newOff: number): number {
  // ~x summed over 8 words = 8 * 0xffff - sum(x); both sums are < 2^20, so no overflow.
  return 8 * 0xffff - sumAddr6(b, oldOff) + sumAddr6(nb, newOff);
}

/** Apply a diff to a normal (complemented) checksum: RFC 1624 eqn. 3. */
export function applyDiff(check: number, diff: number): number {
  return ~fold((~check & 0xffff) + diff) & 0xffff;
}

/** Apply a diff to a partial (pseudo-header sum, not complemented) checksum field. */
export function applyDiffPartial(check: number, diff: number): number {
  return fold(check + diff);
}

/** applyDiff or applyDiffPartial, chosen by `partial` (0/1), so callers keep one code path. */
export function updateChecksum(check: number, diff: number, partial: number): number {
  return partial !== 0 ? fold(check + diff) : ~fold((~check & 0xffff) + diff) & 0xffff;
}

/** RFC 1624: new checksum after a 16-bit word changes from oldV to newV. */
export function csumReplace16(check: number, oldV: number, newV: number): number {
  return applyDiff(check, diff16(oldV, newV));
}

/** RFC 1624: new checksum after a 32-bit field changes from oldV to newV. */
export function csumReplace32(check: number, oldV: number, newV: number): number {
  return applyDiff(check, diff32(oldV, newV));
}

/** RFC 1624: new checksum after a 128-bit field changes from b[oldOff] to nb[newOff]. */
export function csumReplace128(check: number, b: Uint8Array, oldOff: number, nb: Uint8Array, newOff: number): number {
  return applyDiff(check, diff128(b, oldOff, nb, newOff));
}

// --- whole-header / whole-segment helpers (read the payload: not per-packet fast) ---

/** True when the IPv4 header at b[off, off + hl) has a correct checksum. */
export function verifyIPv4Header(b: Uint8Array, off: number, hl: number): boolean {
  return fold(sumWords(b, off, off + hl, 0)) === 0xffff;
}

/** Compute and store the IPv4 header checksum of the header at b[off, off + hl). */
export function fillIPv4HeaderChecksum(b: Uint8Array, off: number, hl: number): void {
  wr16(b, off + 10, 0);
  wr16(b, off + 10, internetChecksum(b, off, off + hl));
}

/** Pseudo-header sum for the transport segment described by info (either family). */
function pseudoSum(b: Uint8Array, info: FrameInfo, proto: number, len: number): number {
  return info.ipVersion === 4
    ? pseudoSumV4(info.src4, info.dst4, proto, len)
    : pseudoSumV6(b, info.srcAddrOffset, info.dstAddrOffset, proto, len);
}

/** Bytes covered by the transport checksum: UDP length field for UDP, else to ipEnd. */
function l4CoveredEnd(b: Uint8Array, info: FrameInfo): number {
  if (info.protocol === IPPROTO_UDP) {
    const ulen = rd16(b, info.l4Offset + 4);
    // UDP length 0 (jumbogram) or past the IP end (tolerated for GSO): the IP length rules.
    if (ulen !== 0 && info.l4Offset + ulen <= info.ipEnd) return info.l4Offset + ulen;
  }
  return info.ipEnd;
}

/**
 * Folded sum over the transport segment including its pseudo-header (when the protocol has
 * one): 0xffff means the checksum verifies. Requires a parsed header (l4CsumOffset >= 0).
 */
export function l4Sum(b: Uint8Array, info: FrameInfo): number {
  const end = l4CoveredEnd(b, info);
  const len = end - info.l4Offset;
  const p = info.protocol;
  let s = 0;
  if (p === IPPROTO_TCP || p === IPPROTO_UDP || p === IPPROTO_ICMPV6) s = pseudoSum(b, info, p, len);
  return fold(sumWords(b, info.l4Offset, end, s));
}

/**
 * True when the transport checksum of a parsed TCP/UDP/ICMP/ICMPv6 packet is correct.
 * UDP over IPv4 with checksum 0 (none) verifies. True also when there is nothing that can
 * be checked here: other protocols, fragments (the checksum covers the reassembled
 * datagram) and partial checksums (not computed yet).
 */
export function verifyL4(b: Uint8Array, info: FrameInfo): boolean {
  if (info.ipVersion === 0 || info.l4CsumOffset < 0 || info.fragment !== FRAG_NONE || info.csumPartial !== 0) {
    return true;
  }
  const p = info.protocol;
  if (p !== IPPROTO_TCP && p !== IPPROTO_UDP && p !== IPPROTO_ICMP && p !== IPPROTO_ICMPV6) return true;
  if (p === IPPROTO_UDP && info.ipVersion === 4 && rd16(b, info.l4CsumOffset) === 0) return true;
  return l4Sum(b, info) === 0xffff;
}

/** verifyL4 for a TCP segment (false if info is not TCP). */
export function verifyTcp(b: Uint8Array, info: FrameInfo): boolean {
  return info.protocol === IPPROTO_TCP && verifyL4(b, info);
}

/** verifyL4 for a UDP datagram (false if info is not UDP). */
export function verifyUdp(b: Uint8Array, info: FrameInfo): boolean {
  return info.protocol === IPPROTO_UDP && verifyL4(b, info);
}

/** verifyL4 for an ICMP message (false if info is not ICMP). */
export function verifyIcmp(b: Uint8Array, info: FrameInfo): boolean {
  return info.protocol === IPPROTO_ICMP && verifyL4(b, info);
}

/** verifyL4 for an ICMPv6 message (false if info is not ICMPv6). */
export function verifyIcmpv6(b: Uint8Array, info: FrameInfo): boolean {
  return info.protocol === IPPROTO_ICMPV6 && verifyL4(b, info);
}

/**
 * Compute and store the transport checksum of a parsed, unfragmented TCP/UDP/ICMP/ICMPv6
 * packet from scratch (UDP: a computed 0 is sent as 0xffff). For tools and the builder.
 * Returns false when info has no checksum field to fill.
 */
export function fillL4Checksum(b: Uint8Array, info: FrameInfo): boolean {
  const co = info.l4CsumOffset;
  if (info.ipVersion === 0 || co < 0) return false;
  const p = info.protocol;
  if (p !== IPPROTO_TCP && p !== IPPROTO_UDP && p !== IPPROTO_ICMP && p !== IPPROTO_ICMPV6) return false;
  wr16(b, co, 0);
  let c = ~l4Sum(b, info) & 0xffff;
  if (c === 0 && p === IPPROTO_UDP) c = 0xffff; // RFC 768: 0 means "no checksum"
  wr16(b, co, c);
  return true;
}

// --- CRC32c (SCTP) ---

const CRC32C_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC32c (Castagnoli) of b[start, end) continuing from crc (pass 0 to start); uint32. */
export function crc32c(b: Uint8Array, start: number, end: number, crc: number): number {
  let c = ~crc;
  for (let i = start; i < end; i++) c = CRC32C_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
