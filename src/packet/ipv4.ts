// IPv4 header (RFC 791): options are skipped via IHL, fragments flagged, the header
// checksum verified only on request (most NICs already did, and it costs a 20+ byte sum).

import { rd16 } from './bytes.js';
import { verifyIPv4Header } from './checksum.js';
import type { FrameInfo } from './info.js';
import { FRAG_FIRST, FRAG_LATER, FRAG_NONE, PARSE_GSO, PARSE_VERIFY_IPV4_CSUM } from './info.js';
import {
  BAD_FRAGMENT,
  BAD_IHL,
  BAD_IPV4_CHECKSUM,
  BAD_IP_VERSION,
  BAD_TOTAL_LENGTH,
  IP_LENGTH_EXCEEDS_FRAME,
  OK,
  TRUNCATED_IPV4,
} from './reasons.js';

/** Minimum / maximum IPv4 header length. */
export const IPV4_MIN_HLEN = 20;
export const IPV4_MAX_HLEN = 60;
/** Field offsets inside the IPv4 header. */
export const IPV4_TOTLEN = 2;
export const IPV4_ID = 4;
export const IPV4_FRAG = 6;
export const IPV4_TTL = 8;
export const IPV4_PROTO = 9;
export const IPV4_CSUM = 10;
export const IPV4_SRC = 12;
export const IPV4_DST = 16;
/** Bits of the flags/fragment-offset word. */
export const IPV4_DF = 0x4000;
export const IPV4_MF = 0x2000;
export const IPV4_OFFMASK = 0x1fff;

/**
 * Parse the IPv4 header at b[off, end) (end = end of frame; Ethernet padding allowed).
 * Fills the IP fields of out, with ipVersion = 4 only on OK. Does not parse the transport.
 */
export function parseIPv4(b: Uint8Array, off: number, end: number, out: FrameInfo, flags: number): number {
  const avail = end - off;
  if (avail < IPV4_MIN_HLEN) return TRUNCATED_IPV4;
  const vihl = b[off]!;
  if (vihl >>> 4 !== 4) return BAD_IP_VERSION;
  const hl = (vihl & 15) << 2;
  if (hl < IPV4_MIN_HLEN) return BAD_IHL;
  let tot = rd16(b, off + IPV4_TOTLEN);
  let fromFrame = 0;
  // GSO super-frames may carry total length 0 (BIG TCP, > 64 KiB): the frame says how long.
  if (tot === 0 && (flags & PARSE_GSO) !== 0) {
    tot = avail;
    fromFrame = 1;
  }
  if (tot < hl) return BAD_TOTAL_LENGTH;
  if (tot > avail) {
    if ((flags & PARSE_GSO) === 0) return IP_LENGTH_EXCEEDS_FRAME;
    tot = avail;
    fromFrame = 1;
  }
  if (hl > tot) return TRUNCATED_IPV4; // only after a GSO clamp
  if ((flags & PARSE_VERIFY_IPV4_CSUM) !== 0 && !verifyIPv4Header(b, off, hl)) return BAD_IPV4_CHECKSUM;
  const fw = rd16(b, off + IPV4_FRAG);
  const fragOff = (fw & IPV4_OFFMASK) << 3;
  const mf = (fw >>> 13) & 1;
  // A fragment whose data would end past 65535 cannot be reassembled (ping of death).
  if (fragOff !== 0 && fragOff + tot - hl > 65535) return BAD_FRAGMENT;
  out.ipHeaderLen = hl;
  out.ipEnd = off + tot;
  out.tos = b[off + 1]!;
  out.ttl = b[off + IPV4_TTL]!;
  out.ipId = rd16(b, off + IPV4_ID);
  out.dontFragment = (fw >>> 14) & 1;
  out.fragment = fragOff !== 0 ? FRAG_LATER : mf !== 0 ? FRAG_FIRST : FRAG_NONE;
  out.fragOffset = fragOff;
  out.moreFragments = mf;
  // U32: rd32 written out so no call boundary can box the value (see bytes.ts).
  out.src4 = ((b[off + 12]! << 24) | (b[off + 13]! << 16) | (b[off + 14]! << 8) | b[off + 15]!) >>> 0;
  out.dst4 = ((b[off + 16]! << 24) | (b[off + 17]! << 16) | (b[off + 18]! << 8) | b[off + 19]!) >>> 0;
  out.srcAddrOffset = off + IPV4_SRC;
  out.dstAddrOffset = off + IPV4_DST;
  out.protocol = b[off + IPV4_PROTO]!;
  out.l4Offset = off + hl;
  out.lengthFromFrame = fromFrame;
  out.ipVersion = 4;
  return OK;
}
