// IPv4 fragmentation: split a packet larger than the output MTU, DF clear, into fragments
// written one at a time into TX slots.
//
// Reference: RFC 791 (sections 2.3 "Fragmentation", 3.2 "An Example Fragmentation
// Procedure"), RFC 1812 4.2.2.7 (routers must fragment); Linux ip_do_fragment's slow path
// (net/ipv4/ip_output.c: ip_frag_init / ip_frag_next) and ip_options_fragment
// (net/ipv4/ip_options.c).
//
// Each fragment = a copy of the link header (VLAN tags included) and the IP header, then a
// slice of the IP payload:
//   - slices of (mtu - IHL*4) rounded down to a multiple of 8, except the last, which may
//     be up to mtu - IHL*4 (ip_do_fragment: `if (len > mtu) len = mtu; if (len < left)
//     len &= ~7`);
//   - fragment offset = the incoming offset + the slice's position, in 8-byte units; MF on
//     every fragment but the last, and on the last too when the packet was itself a
//     non-last fragment (incoming MF kept); DF and the reserved bit cleared (the kernel
//     rewrites the whole flags/offset word);
//   - identification, TOS, TTL, protocol, addresses unchanged; total length and header
//     checksum per fragment;
//   - IP options: the first fragment carries them all; later fragments keep the header
//     length and turn each option WITHOUT the copied flag (type bit 0x80) into NOP bytes,
//     as Linux's ip_options_fragment does (RFC 791 only asks that non-copied options
//     appear in the first fragment; NOP filling keeps every header the same size).
// Outputs carry no offload: a partial transport checksum (parsed with PARSE_CSUM_PARTIAL)
// is completed over the whole datagram and stored in whichever fragment holds the field.
//
// Zero allocation: one Ipv4Fragmenter per worker, reused.

import { checkBounds } from './bounds.js';
import { wr16 } from './bytes.js';
import { fillIPv4HeaderChecksum, fold } from './checksum.js';
import { copyRange, sumRange } from './copy.js';
import type { FrameInfo } from './info.js';
import { FRAG_NONE } from './info.js';
import { IPV4_MF } from './ipv4.js';
import { BAD_BOUNDS, FRAGMENTATION_NEEDED, MTU_TOO_SMALL, NOT_APPLICABLE, NO_ROOM, OK, UNSUPPORTED_PROTOCOL } from './reasons.js';

/** Smallest MTU an IPv4 module must handle (RFC 791: 60-byte header + 8 bytes of data). */
export const IPV4_MIN_MTU = 68;

const MODE_IDLE = 0;
const MODE_FRAG = 1;
const MODE_COPY = 2;
const EMPTY = new Uint8Array(0);

/**
 * In the IPv4 options at b[p, p + len): overwrite every option whose copied flag is clear
 * with NOP (1) bytes, stopping at End of Options or a malformed length, as Linux's
 * ip_options_fragment does for the fragments after the first.
 */
export function nopNonCopiedOptions(b: Uint8Array, p: number, len: number): void {
  let l = len;
  while (l > 0) {
    const t = b[p]!;
    if (t === 0) return; // End of Options List
    if (t === 1) {
      l--;
      p++;
      continue;
    }
    if (l < 2) return;
    const ol = b[p + 1]!;
    if (ol < 2 || ol > l) return;
    if ((t & 0x80) === 0) for (let i = 0; i < ol; i++) b[p + i] = 1;
    l -= ol;
    p += ol;
  }
}

/**
 * Reusable fragmenter. Usage, per packet that exceeds the output MTU:
 *
 *   const r = frag.begin(rxBytes, info, mtu);
 *   if (r !== OK) { drops[r]++; if (r === FRAGMENTATION_NEEDED) sendFragNeeded(...); return; }
 *   for (let n; (n = frag.next(tx.bytes, slot = tx.acquire(), cap)) > 0; ) tx.commit(n);
 *
 * A packet that already fits gives one unchanged copy, so callers may use one path. The
 * source bytes must stay untouched until the last next(); source and destination may be
 * the same array if the ranges do not overlap.
 */
export class Ipv4Fragmenter {
  /** Frames the current packet yields; 0 when idle. */
  count = 0;
  /** Frames written so far for the current packet. */
  emitted = 0;

  private mode = MODE_IDLE;
  private src: Uint8Array = EMPTY;
  private frameStart = 0;
  /** Link header bytes before the IP header. */
  private linkLen = 0;
  private ipHeaderLen = 0;
  private payStart = 0;
  private payEnd = 0;
  private pos = 0;
  /** Payload bytes per fragment when more follow (multiple of 8), and the most a last one may carry. */
  private maxData = 0;
  private room = 0;
  /** Incoming fragment offset (bytes) and MF bit. */
  private fragBase = 0;
  private moreFragments = 0;
  /** Partial checksum to complete: field offset in src (-1: none) and its final value. */
  private csumAt = -1;
  private csumValue = 0;

  /** Drop any packet in progress; next() then returns 0. */
  reset(): void {
    this.mode = MODE_IDLE;
    this.count = 0;
    this.emitted = 0;
    this.src = EMPTY;
    this.csumAt = -1;
  }

  /**
   * Start fragmenting the parsed IPv4 packet `info` in src for an IP MTU of `mtu` bytes
   * (IP header included, link header not). Returns OK, or FRAGMENTATION_NEEDED (too big
   * with DF set: the caller answers ICMP 3/4 with the MTU), MTU_TOO_SMALL (below 68),
   * UNSUPPORTED_PROTOCOL (not IPv4: IPv6 routers never fragment, send Packet Too Big),
   * NOT_APPLICABLE (a GSO super-frame whose length came from the frame: segment it first),
   * BAD_BOUNDS.
   */
  begin(src: Uint8Array, info: FrameInfo, mtu: number): number {
    this.reset();
    if (info.ipVersion !== 4) return UNSUPPORTED_PROTOCOL;
    if ((mtu | 0) !== mtu || mtu < IPV4_MIN_MTU) return MTU_TOO_SMALL;
    const fs = info.frameStart;
    const l3 = info.l3Offset;
    const end = info.ipEnd;
    if (!checkBounds(src, fs, end - fs) || l3 < fs) return BAD_BOUNDS;
    if (info.lengthFromFrame !== 0) return NOT_APPLICABLE;
    const hl = info.ipHeaderLen;
    const tooBig = end - l3 > mtu;
    if (tooBig && info.dontFragment !== 0) return FRAGMENTATION_NEEDED;
    // Output frames carry no offload metadata: finish a partial checksum now. The field
    // holds the pseudo-header sum, so summing the transport bytes as they are gives it all.
    if (info.csumPartial !== 0 && info.l4CsumOffset >= 0 && info.fragment === FRAG_NONE) {
      const c = ~fold(sumRange(src, info.l4Offset, end, 0)) & 0xffff;
      this.csumAt = info.l4CsumOffset;
      this.csumValue = c === 0 ? 0xffff : c;
    }
    this.src = src;
    this.frameStart = fs;
    this.linkLen = l3 - fs;
    this.ipHeaderLen = hl;
    this.payStart = l3 + hl;
    this.payEnd = end;
    this.pos = l3 + hl;
    if (!tooBig) {
      this.count = 1;
      this.mode = MODE_COPY;
      return OK;
    }
    const room = mtu - hl; // >= 8: mtu >= 68, hl <= 60
    const maxData = room & ~7;
    const payLen = end - l3 - hl;
    this.room = room;
    this.maxData = maxData;
    this.fragBase = info.fragOffset;
    this.moreFragments = info.moreFragments;
    // Full slices while more than `room` bytes are left, then the rest.
    this.count = 1 + Math.floor((payLen - room + maxData - 1) / maxData);
    this.mode = MODE_FRAG;
    return OK;
  }

  /**
   * Write the next fragment into dst[dstOffset, dstOffset + dstCapacity). Returns its
   * length, 0 when done (or after a failed begin), or a NEGATIVE reason: -NO_ROOM (nothing
   * consumed; retry with a larger slot or reset()), -BAD_BOUNDS.
   */
  next(dst: Uint8Array, dstOffset: number, dstCapacity: number): number {
    const mode = this.mode;
    if (mode === MODE_IDLE) return 0;
    if (!checkBounds(dst, dstOffset, dstCapacity)) return -BAD_BOUNDS;
    const src = this.src;
    const pos = this.pos;
    const hdr = this.linkLen + this.ipHeaderLen;
    if (mode === MODE_COPY) {
      const len = this.payEnd - this.frameStart;
      if (len > dstCapacity) return -NO_ROOM;
      copyRange(dst, dstOffset, src, this.frameStart, len);
      this.patchCsum(dst, dstOffset + hdr, pos, this.payEnd);
      this.emitted = 1;
      this.mode = MODE_IDLE;
      this.src = EMPTY;
      return len;
    }
    const left = this.payEnd - pos;
    const last = left <= this.room;
    const take = last ? left : this.maxData;
    const len = hdr + take;
    if (len > dstCapacity) return -NO_ROOM;
    const hl = this.ipHeaderLen;
    const index = this.emitted;
    copyRange(dst, dstOffset, src, this.frameStart, hdr);
    const l3 = dstOffset + this.linkLen;
    if (index !== 0 && hl > 20) nopNonCopiedOptions(dst, l3 + 20, hl - 20);
    wr16(dst, l3 + 2, hl + take);
    const off = this.fragBase + (pos - this.payStart);
    wr16(dst, l3 + 6, (off >>> 3) | (last && this.moreFragments === 0 ? 0 : IPV4_MF));
    fillIPv4HeaderChecksum(dst, l3, hl);
    copyRange(dst, l3 + hl, src, pos, take);
    this.patchCsum(dst, l3 + hl, pos, pos + take);
    this.pos = pos + take;
    this.emitted = index + 1;
    if (last) {
      this.mode = MODE_IDLE;
      this.src = EMPTY;
    }
    return len;
  }

  /** Store the completed checksum bytes that fall in the source slice [from, to), copied to dst[at]. */
  private patchCsum(dst: Uint8Array, at: number, from: number, to: number): void {
    const c = this.csumAt;
    if (c < 0) return;
    if (c >= from && c < to) dst[at + c - from] = this.csumValue >>> 8;
    if (c + 1 >= from && c + 1 < to) dst[at + c + 1 - from] = this.csumValue & 0xff;
  }
}
