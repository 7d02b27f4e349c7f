// Software TCP segmentation (GSO/TSO in software): cut a TCP super-frame received with a
// virtio_net_hdr (gso_type TCPV4/TCPV6, gso_size = MSS, checksum partial) into ordinary
// MSS-sized frames with complete checksums, written one at a time into TX slots. Used where
// the super-frame cannot be handed on whole: IPIP tunnelling (virtio cannot express tunnel
// GSO), or an output that must not receive GSO.
//
// Reference: Linux tcp_gso_segment (net/ipv4/tcp_offload.c), inet_gso_segment
// (net/ipv4/af_inet.c), ipv6_gso_segment (net/ipv6/ip6_offload.c), skb_segment
// (net/core/skbuff.c); RFC 9293 (TCP), RFC 791 (IPv4), RFC 8200 (IPv6).
//
// Each segment = a copy of the link + IP + TCP headers and its slice of the payload, with:
//   - IPv4 total length / IPv6 payload length of the segment;
//   - IPv4 identification id, id+1, ... (mod 2^16) per segment, as inet_gso_segment without
//     SKB_GSO_TCP_FIXEDID (virtio cannot express FIXEDID); header checksum recomputed;
//   - TCP sequence number advanced by the segment's payload offset (mod 2^32);
//   - FIN and PSH only on the last segment, CWR only on the first (tcp_gso_segment);
//     every other flag, the ACK number, window, urgent pointer and options copied;
//   - the TCP checksum computed in full (not partial) over pseudo-header + segment.
// The super-frame's checksum field is not trusted: a NEEDS_CSUM sender stores the
// pseudo-header sum for the whole length there (the kernel adjusts it by a length delta),
// but the pseudo-header is recomputed per segment from the addresses instead, which is
// correct whatever the sender put in the field.
//
// Zero allocation: one TcpSegmenter per worker, reused; begin() records numbers and a
// reference to the source array, next() writes into the caller's slot.

import { checkBounds } from './bounds.js';
import { rd32s, wr16, wr32 } from './bytes.js';
import { fillIPv4HeaderChecksum, fold, sumWords } from './checksum.js';
import { copyAndSum, copyRange } from './copy.js';
import type { FrameInfo } from './info.js';
import { FRAG_NONE } from './info.js';
import { IPPROTO_TCP } from './protocols.js';
import {
  BAD_BOUNDS,
  BAD_CSUM_OFFSETS,
  BAD_GSO_SIZE,
  NOT_APPLICABLE,
  NO_ROOM,
  OK,
  UNSUPPORTED_GSO_TYPE,
  UNSUPPORTED_PROTOCOL,
} from './reasons.js';
import { TCP_CWR, TCP_FIN, TCP_PSH } from './tcp.js';
import type { VnetHdr } from './vnet.js';
import {
  VNET_HDR_F_NEEDS_CSUM,
  VNET_HDR_GSO_ECN,
  VNET_HDR_GSO_NONE,
  VNET_HDR_GSO_TCPV4,
  VNET_HDR_GSO_TCPV6,
  completePartialChecksum,
} from './vnet.js';

const MODE_IDLE = 0;
const MODE_TCP = 1;
const MODE_COPY = 2;
const EMPTY = new Uint8Array(0);

/**
 * Largest MSS whose segments fit an IP MTU: mtu - IP header - TCP header (options
 * included) of the parsed frame. <= 0 when the headers alone do not fit. For re-segmenting
 * at min(gso_size, this) when the output MTU is smaller than the sender's segments; note
 * that Linux instead answers a DF super-frame whose segments exceed the MTU with ICMP
 * frag-needed (ip_exceeds_mtu / skb_gso_validate_network_len), see docs/segmentation.md.
 */
export function tcpMssForMtu(info: FrameInfo, mtu: number): number {
  return mtu - info.ipHeaderLen - info.l4HeaderLen;
}

/**
 * Reusable segmenter. Usage, per received frame:
 *
 *   let r = seg.beginVnet(rxBytes, info, vnetHdr);    // or seg.begin(rxBytes, info, mss)
 *   if (r !== OK) { drops[r]++; return; }
 *   for (;;) {
 *     const slot = tx.acquire(); if (slot < 0) ...;
 *     const n = seg.next(tx.bytes, slot, tx.maxFrameLength);
 *     if (n <= 0) { if (n < 0) drops[-n]++; break; }    // 0: done
 *     tx.commit(n);
 *   }
 *
 * The source bytes must stay untouched until the last next(). Source and destination may
 * be the same array (one mapping over the RX and TX rings) if the ranges do not overlap.
 */
export class TcpSegmenter {
  /** Frames the current source yields (1 for a copy); 0 when idle. */
  count = 0;
  /** Frames written so far for the current source. */
  emitted = 0;

  private mode = MODE_IDLE;
  private src: Uint8Array = EMPTY;
  private frameStart = 0;
  /** Link + IP + TCP header bytes, frameStart .. payload. */
  private hdrLen = 0;
  private l3Rel = 0;
  private l4Rel = 0;
  private ipVersion = 0;
  private ipHeaderLen = 0;
  private tcpHeaderLen = 0;
  private payStart = 0;
  private payEnd = 0;
  /** Next payload byte to emit (absolute offset in src). */
  private pos = 0;
  private mss = 0;
  /** Sequence number of the super-frame, as int32 (same bits). */
  private seq = 0;
  private ipId = 0;
  /** TCP flags byte (offset 13) of the super-frame. */
  private tcpFlags = 0;
  /** Unfolded pseudo-header sum without the length: address words + protocol. */
  private addrSum = 0;
  /** Copy mode: frame length and the partial checksum to complete (csumStart -1: none). */
  private copyLen = 0;
  private csumStart = -1;
  private csumOffset = 0;

  /** Drop any frame in progress; next() then returns 0. */
  reset(): void {
    this.mode = MODE_IDLE;
    this.count = 0;
    this.emitted = 0;
    this.src = EMPTY;
  }

  /**
   * Start segmenting the parsed TCP packet `info` in src into segments of at most `mss`
   * payload bytes (a GSO super-frame or any TCP packet; a packet whose payload is <= mss
   * gives one frame, identical apart from the completed checksum). Returns OK, or
   * UNSUPPORTED_PROTOCOL (not TCP, or IPv6 with extension headers), NOT_APPLICABLE (a
   * fragment), BAD_GSO_SIZE (mss < 1, or a segment longer than an IP length field holds),
   * BAD_BOUNDS. Parse GSO frames with PARSE_GSO so the IP length may come from the frame.
   */
  begin(src: Uint8Array, info: FrameInfo, mss: number): number {
    this.reset();
    const v = info.ipVersion;
    if ((v !== 4 && v !== 6) || info.protocol !== IPPROTO_TCP || info.l4HeaderLen < 20) return UNSUPPORTED_PROTOCOL;
    if (info.fragment !== FRAG_NONE) return NOT_APPLICABLE;
    // IPv6 extension headers: a routing header would change the pseudo-header destination.
    if (v === 6 && info.ipHeaderLen !== 40) return UNSUPPORTED_PROTOCOL;
    if ((mss | 0) !== mss || mss < 1) return BAD_GSO_SIZE;
    const fs = info.frameStart;
    const end = info.ipEnd;
    const pay = info.payloadOffset;
    if (!checkBounds(src, fs, end - fs) || pay > end || info.l3Offset < fs) return BAD_BOUNDS;
    const payLen = end - pay;
    const first = payLen < mss ? payLen : mss;
    // The longest segment must fit the 16-bit IPv4 total / IPv6 payload length.
    const ipLenMax = (v === 4 ? info.ipHeaderLen : info.ipHeaderLen - 40) + info.l4HeaderLen + first;
    if (ipLenMax > 0xffff) return BAD_GSO_SIZE;
    const l3 = info.l3Offset;
    const l4 = info.l4Offset;
    this.src = src;
    this.frameStart = fs;
    this.hdrLen = pay - fs;
    this.l3Rel = l3 - fs;
    this.l4Rel = l4 - fs;
    this.ipVersion = v;
    this.ipHeaderLen = info.ipHeaderLen;
    this.tcpHeaderLen = info.l4HeaderLen;
    this.payStart = pay;
    this.payEnd = end;
    this.pos = pay;
    this.mss = mss;
    this.seq = rd32s(src, l4 + 4);
    this.ipId = v === 4 ? (src[l3 + 4]! << 8) | src[l3 + 5]! : 0;
    this.tcpFlags = src[l4 + 13]!;
    // Addresses: IPv4 bytes 12..20, IPv6 bytes 8..40 of the header, summed as words.
    this.addrSum = v === 4 ? sumWords(src, l3 + 12, l3 + 20, IPPROTO_TCP) : sumWords(src, l3 + 8, l3 + 40, IPPROTO_TCP);
    this.count = payLen === 0 ? 1 : Math.floor((payLen + mss - 1) / mss);
    this.mode = MODE_TCP;
    return OK;
  }

  /**
   * Start from a virtio_net_hdr: gso_type TCPV4 / TCPV6 (ECN bit allowed) segments at
   * gso_size; gso_type NONE gives one copy, its partial checksum completed when NEEDS_CSUM
   * (any transport, at csum_start/csum_offset). Returns OK, UNSUPPORTED_GSO_TYPE (UDP GSO,
   * or a type not matching the packet), BAD_GSO_SIZE (gso_size 0), BAD_CSUM_OFFSETS, or a
   * reason from begin().
   */
  beginVnet(src: Uint8Array, info: FrameInfo, h: VnetHdr): number {
    this.reset();
    const g = h.gsoType & ~VNET_HDR_GSO_ECN;
    if (g === VNET_HDR_GSO_NONE) {
      return this.beginCopy(src, info, (h.flags & VNET_HDR_F_NEEDS_CSUM) !== 0 ? h.csumStart : -1, h.csumOffset);
    }
    const want = g === VNET_HDR_GSO_TCPV4 ? 4 : g === VNET_HDR_GSO_TCPV6 ? 6 : 0;
    if (want === 0 || info.ipVersion !== want || info.protocol !== IPPROTO_TCP) return UNSUPPORTED_GSO_TYPE;
    if (h.gsoSize === 0) return BAD_GSO_SIZE;
    return this.begin(src, info, h.gsoSize);
  }

  /**
   * Start a single unsegmented copy of the IP frame `info` (Ethernet padding dropped),
   * completing a partial checksum whose field is at csumStart + csumOffset from the frame
   * start (virtio semantics; csumStart -1: leave the checksum alone). For non-GSO frames
   * with NEEDS_CSUM (or TP_STATUS_CSUMNOTREADY: pass info.l4Offset - info.frameStart and
   * info.l4CsumOffset - info.l4Offset). Returns OK, UNSUPPORTED_PROTOCOL (not IP),
   * BAD_CSUM_OFFSETS, BAD_BOUNDS.
   */
  beginCopy(src: Uint8Array, info: FrameInfo, csumStart: number, csumOffset: number): number {
    this.reset();
    if (info.ipVersion === 0) return UNSUPPORTED_PROTOCOL;
    const fs = info.frameStart;
    const len = info.ipEnd - fs;
    if (!checkBounds(src, fs, len)) return BAD_BOUNDS;
    if (csumStart >= 0 && ((csumOffset | 0) !== csumOffset || csumOffset < 0 || csumStart + csumOffset + 2 > len)) {
      return BAD_CSUM_OFFSETS;
    }
    this.src = src;
    this.frameStart = fs;
    this.copyLen = len;
    this.csumStart = csumStart < 0 ? -1 : csumStart;
    this.csumOffset = csumOffset;
    this.count = 1;
    this.mode = MODE_COPY;
    return OK;
  }

  /**
   * Write the next frame into dst[dstOffset, dstOffset + dstCapacity). Returns its length,
   * 0 when there is nothing more (or after a failed begin), or a NEGATIVE reason:
   * -NO_ROOM (the frame does not fit; nothing consumed, so the caller may retry with a
   * larger slot or reset()), -BAD_BOUNDS.
   */
  next(dst: Uint8Array, dstOffset: number, dstCapacity: number): number {
    const mode = this.mode;
    if (mode === MODE_IDLE) return 0;
    if (!checkBounds(dst, dstOffset, dstCapacity)) return -BAD_BOUNDS;
    const src = this.src;
    if (mode === MODE_COPY) {
      const len = this.copyLen;
      if (len > dstCapacity) return -NO_ROOM;
      copyRange(dst, dstOffset, src, this.frameStart, len);
      if (this.csumStart >= 0) completePartialChecksum(dst, dstOffset, len, this.csumStart, this.csumOffset);
      this.emitted = 1;
      this.mode = MODE_IDLE;
      this.src = EMPTY;
      return len;
    }
    const pos = this.pos;
    const rem = this.payEnd - pos;
    const take = rem < this.mss ? rem : this.mss;
    const hdrLen = this.hdrLen;
    const len = hdrLen + take;
    if (len > dstCapacity) return -NO_ROOM;
    const index = this.emitted;
    const last = index + 1 >= this.count;
    copyRange(dst, dstOffset, src, this.frameStart, hdrLen);
    const l3 = dstOffset + this.l3Rel;
    const l4 = dstOffset + this.l4Rel;
    const thl = this.tcpHeaderLen;
    const l4Len = thl + take;
    // TCP: sequence number, flags, checksum zeroed for the sum.
    wr32(dst, l4 + 4, (this.seq + (pos - this.payStart)) | 0);
    let flags = this.tcpFlags;
    if (!last) flags &= ~(TCP_FIN | TCP_PSH);
    if (index !== 0) flags &= ~TCP_CWR;
    dst[l4 + 13] = flags;
    dst[l4 + 16] = 0;
    dst[l4 + 17] = 0;
    // IP: lengths, identification, header checksum.
    if (this.ipVersion === 4) {
      const hl = this.ipHeaderLen;
      wr16(dst, l3 + 2, hl + l4Len);
      wr16(dst, l3 + 4, (this.ipId + index) & 0xffff);
      fillIPv4HeaderChecksum(dst, l3, hl);
    } else {
      wr16(dst, l3 + 4, this.ipHeaderLen - 40 + l4Len);
    }
    // Full TCP checksum: pseudo-header + header + payload (summed while it is copied).
    let s = sumWords(dst, l4, l4 + thl, this.addrSum + l4Len);
    s = copyAndSum(dst, l4 + thl, src, pos, take, s);
    wr16(dst, l4 + 16, ~fold(s) & 0xffff);
    this.pos = pos + take;
    this.emitted = index + 1;
    if (last) {
      this.mode = MODE_IDLE;
      this.src = EMPTY;
    }
    return len;
  }
}
