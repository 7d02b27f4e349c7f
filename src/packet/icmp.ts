// ICMP for IPv4 (RFC 792): echo identifiers, and for errors the quoted packet (IP header
// + at least 8 bytes of its transport header), which NAT must translate so the error
// reaches the endpoint that owns the connection.

import { rd16 } from './bytes.js';
import type { FrameInfo } from './info.js';
import { FRAG_FIRST, FRAG_LATER, FRAG_NONE } from './info.js';
import { IPPROTO_ICMP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from './protocols.js';
import { ICMP_INNER_BAD_HEADER, ICMP_INNER_L4_TRUNCATED, ICMP_INNER_TRUNCATED, OK, TRUNCATED_L4 } from './reasons.js';

export const ICMP_HLEN = 8;
export const ICMP_CSUM = 2;
/** Types. */
export const ICMP_ECHOREPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETERPROB = 12;
/** Destination-unreachable code "fragmentation needed and DF set" (carries the MTU). */
export const ICMP_FRAG_NEEDED = 4;

/** True for the types that quote the offending packet. */
export function isIcmpErrorType(t: number): boolean {
  return (
    t === ICMP_DEST_UNREACH ||
    t === ICMP_TIME_EXCEEDED ||
    t === ICMP_PARAMETERPROB ||
    t === ICMP_SOURCE_QUENCH ||
    t === ICMP_REDIRECT
  );
}

/**
 * Parse the ICMP message at b[off, end) (end = IP end). For errors, parses the quoted
 * IPv4 packet into the inner* fields; a bad quote sets innerReason but is not a parse
 * failure (the datapath decides what to do with untranslatable errors).
 */
export function parseIcmp(b: Uint8Array, off: number, end: number, out: FrameInfo): number {
  if (end - off < ICMP_HLEN) return TRUNCATED_L4;
  const t = b[off]!;
  const c = b[off + 1]!;
  out.icmpType = t;
  out.icmpCode = c;
  out.icmpId = 0;
  out.icmpMtu = 0;
  out.l4HeaderLen = ICMP_HLEN;
  out.payloadOffset = off + ICMP_HLEN;
  out.l4CsumOffset = off + ICMP_CSUM;
  if (t === ICMP_ECHO || t === ICMP_ECHOREPLY) {
    out.icmpId = rd16(b, off + 4);
  } else if (isIcmpErrorType(t)) {
    if (t === ICMP_DEST_UNREACH && c === ICMP_FRAG_NEEDED) out.icmpMtu = rd16(b, off + 6);
    out.icmpError = 1;
    out.innerReason = parseQuotedIPv4(b, off + ICMP_HLEN, end, out);
  }
  return OK;
}

/**
 * Parse an IPv4 packet quoted in an ICMP error at b[p, end). The quote is usually cut
 * short, so the quoted total length only bounds it; ports need the first 8 bytes of the
 * transport header (RFC 792). Fills inner*; returns OK or an ICMP_INNER_* reason.
 */
export function parseQuotedIPv4(b: Uint8Array, p: number, end: number, out: FrameInfo): number {
  out.innerSrcPort = 0;
  out.innerDstPort = 0;
  out.innerL4CsumOffset = -1;
  if (end - p < 20) return ICMP_INNER_TRUNCATED;
  const vihl = b[p]!;
  const hl = (vihl & 15) << 2;
  if (vihl >>> 4 !== 4 || hl < 20) return ICMP_INNER_BAD_HEADER;
  if (end - p < hl) return ICMP_INNER_TRUNCATED;
  const tot = rd16(b, p + 2);
  if (tot < hl) return ICMP_INNER_BAD_HEADER;
  // The quote ends at the quoted packet's end or the ICMP end, whichever comes first.
  const qend = p + tot < end ? p + tot : end;
  const fw = rd16(b, p + 6);
  const proto = b[p + 9]!;
  const l4 = p + hl;
  out.innerL3Offset = p;
  out.innerIpVersion = 4;
  out.innerIpHeaderLen = hl;
  out.innerProtocol = proto;
  // U32: written out, see bytes.ts.
  out.innerSrc4 = ((b[p + 12]! << 24) | (b[p + 13]! << 16) | (b[p + 14]! << 8) | b[p + 15]!) >>> 0;
  out.innerDst4 = ((b[p + 16]! << 24) | (b[p + 17]! << 16) | (b[p + 18]! << 8) | b[p + 19]!) >>> 0;
  out.innerSrcAddrOffset = p + 12;
  out.innerDstAddrOffset = p + 16;
  out.innerL4Offset = l4;
  out.innerFragment = (fw & 0x1fff) !== 0 ? FRAG_LATER : (fw & 0x2000) !== 0 ? FRAG_FIRST : FRAG_NONE;
  if (out.innerFragment === FRAG_LATER) return OK;
  return parseQuotedL4(b, l4, qend, proto, out);
}

/**
 * Ports and checksum position of a quoted transport header at b[l4, qend) (shared with
 * ICMPv6). Checksum offset is set only when the field lies inside the quote: a TCP quote
 * of 8 bytes ends before it.
 */
export function parseQuotedL4(b: Uint8Array, l4: number, qend: number, proto: number, out: FrameInfo): number {
  const avail = qend - l4;
  if (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP) {
    if (avail < 8) return ICMP_INNER_L4_TRUNCATED;
    out.innerSrcPort = rd16(b, l4);
    out.innerDstPort = rd16(b, l4 + 2);
    if (proto === IPPROTO_UDP) out.innerL4CsumOffset = l4 + 6;
    else if (proto === IPPROTO_TCP && avail >= 18) out.innerL4CsumOffset = l4 + 16;
  } else if (proto === IPPROTO_ICMP || proto === 58 /* ICMPv6 */) {
    if (avail < 8) return ICMP_INNER_L4_TRUNCATED;
    out.innerL4CsumOffset = l4 + 2;
  }
  return OK;
}
