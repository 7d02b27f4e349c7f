// ICMPv6 (RFC 4443): echo identifiers, and for errors (destination unreachable, packet too
// big, time exceeded, parameter problem) the quoted IPv6 packet, which NAT translates.

import { rd16 } from './bytes.js';
import { parseQuotedL4 } from './icmp.js';
import type { FrameInfo } from './info.js';
import { FRAG_FIRST, FRAG_LATER, FRAG_NONE } from './info.js';
import { ipv6Walk, walkIPv6Ext } from './ipv6.js';
import { ICMP_INNER_BAD_HEADER, ICMP_INNER_TRUNCATED, OK, TRUNCATED_IPV6_EXT, TRUNCATED_L4 } from './reasons.js';

export const ICMPV6_HLEN = 8;
export const ICMPV6_CSUM = 2;
/** Types. */
export const ICMPV6_DEST_UNREACH = 1;
export const ICMPV6_PKT_TOOBIG = 2;
export const ICMPV6_TIME_EXCEED = 3;
export const ICMPV6_PARAMPROB = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const ICMPV6_NDISC_NS = 135;
export const ICMPV6_NDISC_NA = 136;

/** Parse the ICMPv6 message at b[off, end) (end = IP end); see parseIcmp for errors. */
export function parseIcmpv6(b: Uint8Array, off: number, end: number, out: FrameInfo): number {
  if (end - off < ICMPV6_HLEN) return TRUNCATED_L4;
  const t = b[off]!;
  out.icmpType = t;
  out.icmpCode = b[off + 1]!;
  out.icmpId = 0;
  out.icmpMtu = 0;
  out.l4HeaderLen = ICMPV6_HLEN;
  out.payloadOffset = off + ICMPV6_HLEN;
  out.l4CsumOffset = off + ICMPV6_CSUM;
  if (t === ICMPV6_ECHO_REQUEST || t === ICMPV6_ECHO_REPLY) {
    out.icmpId = rd16(b, off + 4);
  } else if (t < 128) {
    // Types 0-127 are errors (RFC 4443 2.1), all quoting the offending packet.
    if (t === ICMPV6_PKT_TOOBIG) {
      out.icmpMtu = ((b[off + 4]! << 24) | (b[off + 5]! << 16) | (b[off + 6]! << 8) | b[off + 7]!) >>> 0; // U32
    }
    out.icmpError = 1;
    out.innerReason = parseQuotedIPv6(b, off + ICMPV6_HLEN, end, out);
  }
  return OK;
}

/**
 * Parse an IPv6 packet quoted in an ICMPv6 error at b[p, end), walking its extension
 * headers inside the quote. Fills inner*; returns OK or an ICMP_INNER_* reason.
 */
export function parseQuotedIPv6(b: Uint8Array, p: number, end: number, out: FrameInfo): number {
  out.innerSrcPort = 0;
  out.innerDstPort = 0;
  out.innerL4CsumOffset = -1;
  if (end - p < 40) return ICMP_INNER_TRUNCATED;
  if (b[p]! >>> 4 !== 6) return ICMP_INNER_BAD_HEADER;
  const tot = 40 + rd16(b, p + 4);
  const qend = p + tot < end ? p + tot : end;
  const w = ipv6Walk;
  const r = walkIPv6Ext(b, p + 40, qend, b[p + 6]!, w);
  if (r !== OK) return r === TRUNCATED_IPV6_EXT ? ICMP_INNER_TRUNCATED : ICMP_INNER_BAD_HEADER;
  out.innerL3Offset = p;
  out.innerIpVersion = 6;
  out.innerIpHeaderLen = w.offset - p;
  out.innerProtocol = w.proto;
  out.innerSrc4 = 0;
  out.innerDst4 = 0;
  out.innerSrcAddrOffset = p + 8;
  out.innerDstAddrOffset = p + 24;
  out.innerL4Offset = w.offset;
  out.innerFragment = w.fragOffset !== 0 ? FRAG_LATER : w.moreFragments !== 0 ? FRAG_FIRST : FRAG_NONE;
  if (out.innerFragment === FRAG_LATER) return OK;
  return parseQuotedL4(b, w.offset, qend, w.proto, out);
}
