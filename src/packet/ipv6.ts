// IPv6 fixed header (RFC 8200) and the extension-header walk that finds the upper-layer
// protocol. Addresses stay in the buffer; helpers compare and copy them by offset.

import { rd16, rd32 } from './bytes.js';
import type { FrameInfo } from './info.js';
import { FRAG_FIRST, FRAG_LATER, FRAG_NONE, PARSE_GSO } from './info.js';
import {
  IPPROTO_AH,
  IPPROTO_DSTOPTS,
  IPPROTO_FRAGMENT,
  IPPROTO_HOPOPTS,
  IPPROTO_ROUTING,
} from './protocols.js';
import {
  BAD_FRAGMENT,
  BAD_IP_VERSION,
  IPV6_EXT_CHAIN_TOO_LONG,
  IPV6_HBH_NOT_FIRST,
  IP_LENGTH_EXCEEDS_FRAME,
  OK,
  TRUNCATED_IPV6,
  TRUNCATED_IPV6_EXT,
} from './reasons.js';

export const IPV6_HLEN = 40;
/** Field offsets inside the IPv6 fixed header. */
export const IPV6_PLEN = 4;
export const IPV6_NEXT = 6;
export const IPV6_HOPLIMIT = 7;
export const IPV6_SRC = 8;
export const IPV6_DST = 24;
/**
 * Extension headers walked before giving up. Real traffic has 0-3; a cap keeps the walk
 * bounded and refuses chains built to evade filters (RFC 7112 wants the chain in the first
 * fragment anyway).
 */
export const IPV6_MAX_EXT_HEADERS = 8;

/**
 * Result of the last walkIPv6Ext call. One object created at load time: the walker is
 * shared by the outer-packet and ICMPv6-quoted-packet parsers and must return several
 * numbers without allocating.
 */
export class Ipv6Walk {
  /** Upper-layer protocol (next header after the last extension header walked). */
  proto = 0;
  /** Offset of the upper-layer header. */
  offset = 0;
  /** 1 when a fragment header was seen. */
  hasFrag = 0;
  fragOffset = 0;
  moreFragments = 0;
  fragId = 0;
}
export const ipv6Walk = new Ipv6Walk();

/**
 * Walk the extension headers starting at b[p] with next-header nh, within [p, end).
 * Hop-by-hop, routing, fragment, destination options and AH are skipped (ESP is opaque
 * and ends the walk as the upper layer). Stops after a non-first fragment's header since
 * what follows is fragment data. Returns OK or a reason; results in `w`.
 */
export function walkIPv6Ext(b: Uint8Array, p: number, end: number, nh: number, w: Ipv6Walk): number {
  const first = p;
  let n = 0;
  w.hasFrag = 0;
  w.fragOffset = 0;
  w.moreFragments = 0;
  w.fragId = 0;
  for (;;) {
    if (nh === IPPROTO_HOPOPTS) {
      if (p !== first) return IPV6_HBH_NOT_FIRST;
    } else if (nh !== IPPROTO_ROUTING && nh !== IPPROTO_DSTOPTS && nh !== IPPROTO_FRAGMENT && nh !== IPPROTO_AH) {
      break;
    }
    if (++n > IPV6_MAX_EXT_HEADERS) return IPV6_EXT_CHAIN_TOO_LONG;
    if (end - p < 8) return TRUNCATED_IPV6_EXT; // every extension header is >= 8 bytes
    let len: number;
    if (nh === IPPROTO_FRAGMENT) {
      len = 8;
      const fw = rd16(b, p + 2);
      w.hasFrag = 1;
      w.fragOffset = fw & 0xfff8;
      w.moreFragments = fw & 1;
      w.fragId = ((b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!) >>> 0; // U32, see bytes.ts
    } else if (nh === IPPROTO_AH) {
      len = (b[p + 1]! + 2) << 2; // AH length is in 4-octet units minus 2 (RFC 4302)
    } else {
      len = (b[p + 1]! + 1) << 3; // others: 8-octet units, not counting the first 8
    }
    if (end - p < len) return TRUNCATED_IPV6_EXT;
    nh = b[p]!;
    p += len;
    if (w.fragOffset !== 0) break; // later fragment: the rest is data, not headers
  }
  w.proto = nh;
  w.offset = p;
  return OK;
}

/**
 * Parse the IPv6 header at b[off, end) and walk its extension headers. Fills the IP
 * fields of out, with ipVersion = 6 only on OK. Does not parse the transport.
 */
export function parseIPv6(b: Uint8Array, off: number, end: number, out: FrameInfo, flags: number): number {
  const avail = end - off;
  if (avail < IPV6_HLEN) return TRUNCATED_IPV6;
  const b0 = b[off]!;
  if (b0 >>> 4 !== 6) return BAD_IP_VERSION;
  let tot = IPV6_HLEN + rd16(b, off + IPV6_PLEN);
  let fromFrame = 0;
  // GSO super-frames may carry payload length 0 (BIG TCP): the frame says how long.
  if (tot === IPV6_HLEN && (flags & PARSE_GSO) !== 0) {
    tot = avail;
    fromFrame = 1;
  }
  if (tot > avail) {
    if ((flags & PARSE_GSO) === 0) return IP_LENGTH_EXCEEDS_FRAME;
    tot = avail;
    fromFrame = 1;
  }
  const ipEnd = off + tot;
  const w = ipv6Walk;
  const r = walkIPv6Ext(b, off + IPV6_HLEN, ipEnd, b[off + IPV6_NEXT]!, w);
  if (r !== OK) return r;
  const fragOff = w.fragOffset;
  if (fragOff !== 0 && fragOff + ipEnd - w.offset > 65535) return BAD_FRAGMENT;
  out.ipHeaderLen = w.offset - off;
  out.ipEnd = ipEnd;
  out.tos = ((b0 & 15) << 4) | (b[off + 1]! >>> 4);
  out.ttl = b[off + IPV6_HOPLIMIT]!;
  out.ipId = w.fragId;
  out.dontFragment = 0;
  out.fragment = fragOff !== 0 ? FRAG_LATER : w.moreFragments !== 0 ? FRAG_FIRST : FRAG_NONE;
  out.fragOffset = fragOff;
  out.moreFragments = w.moreFragments;
  out.src4 = 0;
  out.dst4 = 0;
  out.srcAddrOffset = off + IPV6_SRC;
  out.dstAddrOffset = off + IPV6_DST;
  out.protocol = w.proto;
  out.l4Offset = w.offset;
  out.lengthFromFrame = fromFrame;
  out.ipVersion = 6;
  return OK;
}

/** True when the 16-byte addresses at a[aOff] and b[bOff] are equal. */
export function ip6Equal(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): boolean {
  for (let i = 0; i < 16; i += 4) {
    if (
      a[aOff + i] !== b[bOff + i] ||
      a[aOff + i + 1] !== b[bOff + i + 1] ||
      a[aOff + i + 2] !== b[bOff + i + 2] ||
      a[aOff + i + 3] !== b[bOff + i + 3]
    ) {
      return false;
    }
  }
  return true;
}

/** Copy a 16-byte address from src[srcOff] to dst[dstOff]. */
export function ip6Copy(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number): void {
  for (let i = 0; i < 16; i++) dst[dstOff + i] = src[srcOff + i]!;
}

/** 32-bit word i (0..3) of the address at b[off], as uint32: for hashing and table keys. */
export function ip6Word(b: Uint8Array, off: number, i: number): number {
  return rd32(b, off + (i << 2));
}

/** True for the unspecified address ::. */
export function ip6IsUnspecified(b: Uint8Array, off: number): boolean {
  let acc = 0;
  for (let i = 0; i < 16; i++) acc |= b[off + i]!;
  return acc === 0;
}
