// Building ICMP / ICMPv6 error messages about a received packet, straight into a TX slot:
// fragmentation needed (3/4 with the next-hop MTU), port unreachable (3/3), time exceeded
// (11/0), and ICMPv6 packet too big (2, MTU), time exceeded (3/0), unreachable (1/x).
//
// Reference: RFC 792 (ICMP), RFC 1191 (next-hop MTU in frag-needed), RFC 1122 3.2.2 and
// RFC 1812 4.3.2.3 / 4.3.2.7 (what to quote, when never to send), RFC 4443 (ICMPv6, 2.4
// rules (c) and (e)); Linux __icmp_send (net/ipv4/icmp.c) and icmp6_send
// (net/ipv6/icmp.c).
//
// The error quotes the offending IP packet from its header on (Ethernet padding excluded),
// as much as fits in 576 bytes of IPv4 (576 - 20 - 8 = 548 bytes of quote, as Linux) or in
// the IPv6 minimum MTU of 1280 (1232 bytes). IPv4 header: TTL 64, TOS 0xc0 (precedence
// "internetwork control", IPTOS_PREC_INTERNETCONTROL; Linux also ORs in the offending
// packet's TOS bits 0x1e, we do not), DF clear, no options, identification from the caller.
// IPv6 header: traffic class 0, flow label 0, hop limit 64. Untagged Ethernet header.
//
// Never sent (icmpErrorAllowed, reason codes the caller counts):
//   - about an ICMP error, or an ICMP message of unknown type (> 18, as Linux), or an
//     ICMPv6 error (type < 128): NO_ICMP_FOR_ICMP_ERROR;
//   - about a non-first IPv4 fragment (RFC 1122), or an IPv6 non-first fragment whose
//     upper layer is ICMPv6 (its type cannot be seen; Linux's is_ineligible):
//     NO_ICMP_FOR_FRAGMENT;
//   - about a packet sent to an IP multicast / limited broadcast address or to a link-layer
//     group address (IPv6: except packet too big and parameter problem code 2):
//     NO_ICMP_FOR_MULTICAST; directed broadcasts need subnet knowledge: the caller's job;
//   - to a source that is not one host (IPv4 0/8, 127/8, 224/4 multicast, 240/4 incl.
//     255.255.255.255; IPv6 ::, ::1, ff00::/8): NO_ICMP_FOR_BAD_SOURCE.
// Rate limiting (Linux icmp_ratelimit / icmp_global_allow) is the caller's job too.
//
// Zero allocation: numbers and caller-owned arrays only.

import { checkBounds } from './bounds.js';
import { wr16, wr32 } from './bytes.js';
import { fold, pseudoSumV6, sumWords } from './checksum.js';
import { copyAndSum } from './copy.js';
import { writeEthernetHeader } from './ethernet.js';
import { isIcmpErrorType } from './icmp.js';
import type { FrameInfo } from './info.js';
import { FRAG_LATER } from './info.js';
import { ETH_P_IPV4, ETH_P_IPV6, IPPROTO_ICMP, IPPROTO_ICMPV6 } from './protocols.js';
import {
  BAD_BOUNDS,
  NO_ICMP_FOR_BAD_SOURCE,
  NO_ICMP_FOR_FRAGMENT,
  NO_ICMP_FOR_ICMP_ERROR,
  NO_ICMP_FOR_MULTICAST,
  NO_ROOM,
  OK,
  UNSUPPORTED_PROTOCOL,
} from './reasons.js';

/** Largest ICMP error datagram (RFC 1812 4.3.2.3): quote up to 576 - 20 - 8 = 548 bytes. */
export const ICMP_ERROR_MAX_LEN = 576;
/** Largest ICMPv6 error packet (RFC 4443 2.4(c): the IPv6 minimum MTU). */
export const ICMPV6_ERROR_MAX_LEN = 1280;
/** IPv4 TTL / IPv6 hop limit of the errors we send (Linux's default ip_default_ttl). */
export const ICMP_ERROR_TTL = 64;
/** IPv4 TOS of the errors we send: IPTOS_PREC_INTERNETCONTROL. */
export const ICMP_ERROR_TOS = 0xc0;
/** Destination-unreachable code: port unreachable (no real server for the service). */
export const ICMP_PORT_UNREACH = 3;
/** Time-exceeded code: TTL exceeded in transit. */
export const ICMP_EXC_TTL = 0;
/** ICMPv6 destination-unreachable code: port unreachable. */
export const ICMPV6_PORT_UNREACH = 4;
/** ICMPv6 time-exceeded code: hop limit exceeded in transit. */
export const ICMPV6_EXC_HOPLIMIT = 0;
/** Highest ICMP type Linux knows (NR_ICMP_TYPES); errors are never sent about higher ones. */
const NR_ICMP_TYPES = 18;
/** Frame bytes before the quote: Ethernet + IPv4 + ICMP, Ethernet + IPv6 + ICMPv6. */
const ICMP_ERROR_HDRS = 14 + 20 + 8;
const ICMPV6_ERROR_HDRS = 14 + 40 + 8;

/**
 * Whether an error of type/code may be sent about the parsed packet `info` in b (IPv4 or
 * IPv6, by info.ipVersion): OK or a NO_ICMP_* reason (see the file comment), or
 * UNSUPPORTED_PROTOCOL when info is not IP. type/code matter for ICMPv6 only (multicast
 * exceptions).
 */
export function icmpErrorAllowed(b: Uint8Array, info: FrameInfo, type: number, code: number): number {
  const v = info.ipVersion;
  const linkGroup = info.l3Offset > info.frameStart && (b[info.frameStart]! & 1) === 1;
  if (v === 4) {
    const d0 = b[info.dstAddrOffset]!;
    if (linkGroup || (d0 >= 224 && d0 < 240) || (info.dst4 | 0) === -1) return NO_ICMP_FOR_MULTICAST;
    const s0 = b[info.srcAddrOffset]!;
    if (s0 === 0 || s0 === 127 || s0 >= 224) return NO_ICMP_FOR_BAD_SOURCE;
    if (info.fragment === FRAG_LATER) return NO_ICMP_FOR_FRAGMENT;
    if (info.protocol === IPPROTO_ICMP) {
      // A parsed ICMP header has its 8 bytes before ipEnd; be defensive anyway.
      if (info.l4Offset >= info.ipEnd) return NO_ICMP_FOR_ICMP_ERROR;
      const t = b[info.l4Offset]!;
      if (t > NR_ICMP_TYPES || isIcmpErrorType(t)) return NO_ICMP_FOR_ICMP_ERROR;
    }
    return OK;
  }
  if (v === 6) {
    const multicastOk = type === 2 || (type === 4 && code === 2); // RFC 4443 2.4(e.3)
    if (!multicastOk && (linkGroup || b[info.dstAddrOffset] === 0xff)) return NO_ICMP_FOR_MULTICAST;
    const s = info.srcAddrOffset;
    if (b[s] === 0xff) return NO_ICMP_FOR_BAD_SOURCE;
    let acc = 0;
    for (let i = 0; i < 15; i++) acc |= b[s + i]!;
    if (acc === 0 && (b[s + 15] === 0 || b[s + 15] === 1)) return NO_ICMP_FOR_BAD_SOURCE; // :: and ::1
    if (info.protocol === IPPROTO_ICMPV6) {
      if (info.fragment === FRAG_LATER || info.l4Offset >= info.ipEnd) return NO_ICMP_FOR_FRAGMENT;
      if (b[info.l4Offset]! < 128) return NO_ICMP_FOR_ICMP_ERROR;
    }
    return OK;
  }
  return UNSUPPORTED_PROTOCOL;
}

/**
 * Write an ICMP error of type/code about the parsed IPv4 packet `quotedInfo` in quotedSrc
 * into dst at dstOffset (within dstCapacity): Ethernet header (dstMac[dstMacOff] <-
 * srcMac[srcMacOff], untagged), IPv4 header srcIp -> dstIp (uint32 or int32, usually our
 * address -> the quoted source) with identification ipId, ICMP header with the 32-bit
 * rest-of-header word `rest` (frag-needed: the next-hop MTU, which sits in the low 16
 * bits), then the quote. Returns the frame length, or a NEGATIVE reason: a NO_ICMP_*
 * refusal, -UNSUPPORTED_PROTOCOL (quoted packet not IPv4), -NO_ROOM, -BAD_BOUNDS.
 */
export function writeIcmpError(
  dst: Uint8Array,
  dstOffset: number,
  dstCapacity: number,
  srcMac: Uint8Array,
  srcMacOff: number,
  dstMac: Uint8Array,
  dstMacOff: number,
  srcIp: number,
  dstIp: number,
  ipId: number,
  type: number,
  code: number,
  rest: number,
  quotedSrc: Uint8Array,
  quotedInfo: FrameInfo,
): number {
  if (quotedInfo.ipVersion !== 4) return -UNSUPPORTED_PROTOCOL;
  const ql3 = quotedInfo.l3Offset;
  if (!checkBounds(quotedSrc, ql3, quotedInfo.ipEnd - ql3) || !checkBounds(dst, dstOffset, dstCapacity)) return -BAD_BOUNDS;
  const r = icmpErrorAllowed(quotedSrc, quotedInfo, type, code);
  if (r !== OK) return -r;
  let qlen = quotedInfo.ipEnd - ql3;
  if (qlen > ICMP_ERROR_MAX_LEN - 28) qlen = ICMP_ERROR_MAX_LEN - 28;
  const len = ICMP_ERROR_HDRS + qlen;
  if (len > dstCapacity) return -NO_ROOM;
  const o = writeEthernetHeader(dst, dstOffset, dstMac, dstMacOff, srcMac, srcMacOff, ETH_P_IPV4);
  dst[o] = 0x45;
  dst[o + 1] = ICMP_ERROR_TOS;
  wr16(dst, o + 2, 28 + qlen);
  wr16(dst, o + 4, ipId & 0xffff);
  wr16(dst, o + 6, 0);
  dst[o + 8] = ICMP_ERROR_TTL;
  dst[o + 9] = IPPROTO_ICMP;
  wr16(dst, o + 10, 0);
  wr32(dst, o + 12, srcIp | 0);
  wr32(dst, o + 16, dstIp | 0);
  wr16(dst, o + 10, ~fold(sumWords(dst, o, o + 20, 0)) & 0xffff);
  const ic = o + 20;
  dst[ic] = type;
  dst[ic + 1] = code;
  wr16(dst, ic + 2, 0);
  wr32(dst, ic + 4, rest | 0);
  const s = copyAndSum(dst, ic + 8, quotedSrc, ql3, qlen, sumWords(dst, ic, ic + 8, 0));
  wr16(dst, ic + 2, ~fold(s) & 0xffff);
  return len;
}

/**
 * Write an ICMPv6 error of type/code about the parsed IPv6 packet `quotedInfo` in
 * quotedSrc into dst: Ethernet header as writeIcmpError, IPv6 header from the 16-byte
 * address at srcAddr[srcAddrOff] to dstAddr[dstAddrOff] (usually the quoted source),
 * ICMPv6 header with the 32-bit word `rest` (packet too big: the MTU), then up to 1232
 * bytes of quote. Returns the frame length or a NEGATIVE reason as writeIcmpError.
 */
export function writeIcmpv6Error(
  dst: Uint8Array,
  dstOffset: number,
  dstCapacity: number,
  srcMac: Uint8Array,
  srcMacOff: number,
  dstMac: Uint8Array,
  dstMacOff: number,
  srcAddr: Uint8Array,
  srcAddrOff: number,
  dstAddr: Uint8Array,
  dstAddrOff: number,
  type: number,
  code: number,
  rest: number,
  quotedSrc: Uint8Array,
  quotedInfo: FrameInfo,
): number {
  if (quotedInfo.ipVersion !== 6) return -UNSUPPORTED_PROTOCOL;
  const ql3 = quotedInfo.l3Offset;
  if (
    !checkBounds(quotedSrc, ql3, quotedInfo.ipEnd - ql3) ||
    !checkBounds(dst, dstOffset, dstCapacity) ||
    !checkBounds(srcAddr, srcAddrOff, 16) ||
    !checkBounds(dstAddr, dstAddrOff, 16)
  ) {
    return -BAD_BOUNDS;
  }
  const r = icmpErrorAllowed(quotedSrc, quotedInfo, type, code);
  if (r !== OK) return -r;
  let qlen = quotedInfo.ipEnd - ql3;
  if (qlen > ICMPV6_ERROR_MAX_LEN - 48) qlen = ICMPV6_ERROR_MAX_LEN - 48;
  const len = ICMPV6_ERROR_HDRS + qlen;
  if (len > dstCapacity) return -NO_ROOM;
  const o = writeEthernetHeader(dst, dstOffset, dstMac, dstMacOff, srcMac, srcMacOff, ETH_P_IPV6);
  const plen = 8 + qlen;
  wr32(dst, o, 0x60000000);
  wr16(dst, o + 4, plen);
  dst[o + 6] = IPPROTO_ICMPV6;
  dst[o + 7] = ICMP_ERROR_TTL;
  for (let i = 0; i < 16; i++) {
    dst[o + 8 + i] = srcAddr[srcAddrOff + i]!;
    dst[o + 24 + i] = dstAddr[dstAddrOff + i]!;
  }
  const ic = o + 40;
  dst[ic] = type;
  dst[ic + 1] = code;
  wr16(dst, ic + 2, 0);
  wr32(dst, ic + 4, rest | 0);
  let s = sumWords(dst, ic, ic + 8, pseudoSumV6(dst, o + 8, o + 24, IPPROTO_ICMPV6, plen));
  s = copyAndSum(dst, ic + 8, quotedSrc, ql3, qlen, s);
  wr16(dst, ic + 2, ~fold(s) & 0xffff);
  return len;
}
