// UDP header (RFC 768).

import { rd16 } from './bytes.js';
import type { FrameInfo } from './info.js';
import { FRAG_NONE, PARSE_GSO } from './info.js';
import { BAD_UDP_LENGTH, OK, TRUNCATED_L4 } from './reasons.js';

export const UDP_HLEN = 8;
export const UDP_LEN = 4;
export const UDP_CSUM = 6;

/**
 * Parse the UDP header at b[off, end) (end = IP end). The UDP length may be shorter than
 * the IP payload (the rest is ignored, as Linux trims it) but not longer (except in a
 * first fragment), and not below 8; GSO super-frames are exempt (the length is the
 * super-datagram's, or 0).
 */
export function parseUdp(b: Uint8Array, off: number, end: number, out: FrameInfo, flags: number): number {
  const avail = end - off;
  if (avail < UDP_HLEN) return TRUNCATED_L4;
  const ulen = rd16(b, off + UDP_LEN);
  // A first fragment holds only part of the datagram the length describes; GSO
  // super-frames may carry 0 or the super-datagram's length.
  if ((ulen < UDP_HLEN || (ulen > avail && out.fragment === FRAG_NONE)) && (flags & PARSE_GSO) === 0) {
    return BAD_UDP_LENGTH;
  }
  out.srcPort = rd16(b, off);
  out.dstPort = rd16(b, off + 2);
  out.l4HeaderLen = UDP_HLEN;
  out.payloadOffset = off + UDP_HLEN;
  out.l4CsumOffset = off + UDP_CSUM;
  return OK;
}

/** UDP payload length from the UDP length field (clamped to the IP payload). */
export function udpPayloadLen(b: Uint8Array, info: FrameInfo): number {
  const ulen = rd16(b, info.l4Offset + UDP_LEN);
  const avail = info.ipEnd - info.l4Offset;
  return (ulen >= UDP_HLEN && ulen <= avail ? ulen : avail) - UDP_HLEN;
}
