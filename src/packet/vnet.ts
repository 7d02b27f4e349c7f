// virtio_net_hdr (include/uapi/linux/virtio_net.h): the 10-byte header a tap device or a
// PACKET_VNET_HDR packet socket puts before each frame to describe checksum offload
// (NEEDS_CSUM: the L4 checksum is partial) and segmentation offload (GSO super-frames).
// Fields are little-endian (virtio 1.0 / x86 host order).

import { checkBounds } from './bounds.js';
import { rd16le, wr16, wr16le } from './bytes.js';
import { fold, sumWords } from './checksum.js';
import type { FrameInfo } from './info.js';
import { PARSE_CSUM_PARTIAL, PARSE_GSO } from './info.js';
import { BAD_BOUNDS, BAD_CSUM_OFFSETS, OK, TRUNCATED_VNET_HDR } from './reasons.js';

export const VNET_HDR_LEN = 10;
/** flags */
export const VNET_HDR_F_NEEDS_CSUM = 1;
export const VNET_HDR_F_DATA_VALID = 2;
/** gso_type */
export const VNET_HDR_GSO_NONE = 0;
export const VNET_HDR_GSO_TCPV4 = 1;
export const VNET_HDR_GSO_UDP = 3;
export const VNET_HDR_GSO_TCPV6 = 4;
export const VNET_HDR_GSO_UDP_L4 = 5;
export const VNET_HDR_GSO_ECN = 0x80;

/** Decoded virtio_net_hdr; create once and reuse. */
export class VnetHdr {
  flags = 0;
  gsoType = 0;
  hdrLen = 0;
  gsoSize = 0;
  /** Offset of the checksummed region from the start of the frame (Ethernet header). */
  csumStart = 0;
  /** Offset of the checksum field from csumStart. */
  csumOffset = 0;
}

/** Read the virtio_net_hdr at b[off, off + 10) into out. */
export function readVnetHdr(b: Uint8Array, off: number, out: VnetHdr): number {
  if (!checkBounds(b, off, VNET_HDR_LEN)) return TRUNCATED_VNET_HDR;
  out.flags = b[off]!;
  out.gsoType = b[off + 1]!;
  out.hdrLen = rd16le(b, off + 2);
  out.gsoSize = rd16le(b, off + 4);
  out.csumStart = rd16le(b, off + 6);
  out.csumOffset = rd16le(b, off + 8);
  return OK;
}

/** Write h as a virtio_net_hdr at b[off, off + 10). */
export function writeVnetHdr(b: Uint8Array, off: number, h: VnetHdr): number {
  if (!checkBounds(b, off, VNET_HDR_LEN)) return TRUNCATED_VNET_HDR;
  b[off] = h.flags;
  b[off + 1] = h.gsoType;
  wr16le(b, off + 2, h.hdrLen);
  wr16le(b, off + 4, h.gsoSize);
  wr16le(b, off + 6, h.csumStart);
  wr16le(b, off + 8, h.csumOffset);
  return OK;
}

/** PARSE_* flags implied by a header: PARSE_GSO for super-frames, PARSE_CSUM_PARTIAL for NEEDS_CSUM. */
export function vnetParseFlags(h: VnetHdr): number {
  let f = 0;
  if ((h.gsoType & ~VNET_HDR_GSO_ECN) !== VNET_HDR_GSO_NONE) f |= PARSE_GSO;
  if ((h.flags & VNET_HDR_F_NEEDS_CSUM) !== 0) f |= PARSE_CSUM_PARTIAL;
  return f;
}

/**
 * True when a NEEDS_CSUM header points at the checksum field of the transport header
 * found by the parser: only then may the rewrite helpers treat that field as partial.
 */
export function vnetCsumMatches(h: VnetHdr, info: FrameInfo): boolean {
  return (
    info.l4CsumOffset >= 0 &&
    info.l4Offset - info.frameStart === h.csumStart &&
    info.l4CsumOffset - info.l4Offset === h.csumOffset
  );
}

/**
 * Complete a partial checksum (NEEDS_CSUM / TP_STATUS_CSUMNOTREADY): the field at
 * csumStart + csumOffset holds the folded pseudo-header sum, not complemented; sum
 * [csumStart, frame end) including it and store the complement, as the NIC would.
 * csumStart/csumOffset are relative to the frame start (virtio_net_hdr semantics). A
 * result of 0 is stored as 0xffff, like Linux's skb_checksum_help, which keeps UDP's
 * "0 = no checksum" meaning safe. The frame end must be the IP end: pass frameLength
 * without Ethernet padding (info.ipEnd - info.frameStart) when the frame may be padded.
 */
export function completePartialChecksum(
  b: Uint8Array,
  frameOffset: number,
  frameLength: number,
  csumStart: number,
  csumOffset: number,
): number {
  if (!checkBounds(b, frameOffset, frameLength)) return BAD_BOUNDS;
  if (csumStart < 0 || csumOffset < 0 || csumStart + csumOffset + 2 > frameLength) return BAD_CSUM_OFFSETS;
  const start = frameOffset + csumStart;
  const field = start + csumOffset;
  const c = ~fold(sumWords(b, start, frameOffset + frameLength, 0)) & 0xffff;
  wr16(b, field, c === 0 ? 0xffff : c);
  return OK;
}

/**
 * Fill h for a frame whose transport checksum is (or is made) partial: NEEDS_CSUM with
 * csum_start/csum_offset at info's checksum field, no GSO.
 */
export function vnetSetPartial(h: VnetHdr, info: FrameInfo): void {
  h.flags = VNET_HDR_F_NEEDS_CSUM;
  h.gsoType = VNET_HDR_GSO_NONE;
  h.hdrLen = 0;
  h.gsoSize = 0;
  h.csumStart = info.l4Offset - info.frameStart;
  h.csumOffset = info.l4CsumOffset - info.l4Offset;
}
