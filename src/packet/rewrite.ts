// In-place NAT rewrites with incremental checksum updates (RFC 1624), for a frame already
// parsed into `info`. Each helper changes one field, fixes every checksum that covers it,
// and keeps `info` in step, so helpers compose in any order (one's-complement addition
// commutes). They return a reason code: OK, or NOT_APPLICABLE / TTL_EXPIRED when the frame
// lacks the field; nothing is written then.
//
// Checksum rules applied here:
//  - IPv4 header checksum covers addresses and TTL.
//  - TCP, UDP and ICMPv6 checksums cover a pseudo-header with both addresses; ICMPv4 has
//    none, so an outer address change never touches the ICMP checksum.
//  - UDP checksum 0 means "none": left alone; an update that computes 0 stores 0xffff.
//  - info.csumPartial (parsed with PARSE_CSUM_PARTIAL): the L4 field holds the
//    pseudo-header sum not complemented; address changes update it in the partial sense
//    and port changes leave it alone (the ports are summed later with the data).
//  - Non-first fragments have no transport header: only the IP header is touched, and the
//    port setters return NOT_APPLICABLE. In a first fragment the transport checksum covers
//    the whole datagram, and an incremental update stays right.

import { rd16, rd32s, wr16, wr32 } from './bytes.js';
import { applyDiff, crc32c, diff128, diff16, diff32, updateChecksum } from './checksum.js';
import { copyMac } from './ethernet.js';
import type { FrameInfo } from './info.js';
import { FRAG_LATER } from './info.js';
import { ip6Copy } from './ipv6.js';
import { IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from './protocols.js';
import { NOT_APPLICABLE, OK, TTL_EXPIRED } from './reasons.js';

// --- Ethernet ---

/** Set the source MAC from mac[macOff]. NOT_APPLICABLE for frames parsed without Ethernet. */
export function setEthSrc(b: Uint8Array, info: FrameInfo, mac: Uint8Array, macOff: number): number {
  if (info.l3Offset === info.frameStart) return NOT_APPLICABLE;
  copyMac(b, info.frameStart + 6, mac, macOff);
  return OK;
}

/** Set the destination MAC from mac[macOff]. */
export function setEthDst(b: Uint8Array, info: FrameInfo, mac: Uint8Array, macOff: number): number {
  if (info.l3Offset === info.frameStart) return NOT_APPLICABLE;
  copyMac(b, info.frameStart, mac, macOff);
  return OK;
}

/** Set both MACs in one call (the per-packet next-hop rewrite). */
export function setEthAddrs(
  b: Uint8Array,
  info: FrameInfo,
  dstMac: Uint8Array,
  dstMacOff: number,
  srcMac: Uint8Array,
  srcMacOff: number,
): number {
  if (info.l3Offset === info.frameStart) return NOT_APPLICABLE;
  const o = info.frameStart;
  copyMac(b, o, dstMac, dstMacOff);
  copyMac(b, o + 6, srcMac, srcMacOff);
  return OK;
}

// --- shared checksum plumbing ---

/**
 * Update the transport checksum for a change of `pseudoDiff` in the pseudo-header (the
 * addresses) and `dataDiff` in the transport header (the ports). The one place that knows
 * the rules: no pseudo-header for ICMPv4; UDP checksum 0 = none; a UDP result of 0 is sent
 * as 0xffff; a partial checksum takes the pseudo-header part only, in the partial sense.
 */
function l4Update(b: Uint8Array, info: FrameInfo, pseudoDiff: number, dataDiff: number): void {
  const co = info.l4CsumOffset;
  if (co < 0) return;
  const p = info.protocol;
  const partial = info.csumPartial;
  let d = p === IPPROTO_TCP || p === IPPROTO_UDP || p === IPPROTO_ICMPV6 ? pseudoDiff : 0;
  if (partial === 0) d += dataDiff; // partial: ports are summed later with the data
  if (d === 0) return;
  const old = rd16(b, co);
  if (p === IPPROTO_UDP && old === 0 && partial === 0) return; // UDP without checksum
  let nc = updateChecksum(old, d, partial);
  if (nc === 0 && p === IPPROTO_UDP && partial === 0) nc = 0xffff;
  wr16(b, co, nc);
}

/** SCTP's CRC32c is not incremental: recompute it over the packet (little-endian, as Linux). */
function sctpRecrc(b: Uint8Array, info: FrameInfo): void {
  const o = info.l4Offset;
  const co = o + 8;
  wr32(b, co, 0);
  const crc = crc32c(b, o, info.ipEnd, 0);
  b[co] = crc;
  b[co + 1] = crc >>> 8;
  b[co + 2] = crc >>> 16;
  b[co + 3] = crc >>> 24;
}

// --- IPv4 addresses ---

// IPv4 addresses travel as int32 (addr | 0) between the helpers below so that they stay
// Smis across calls V8 may not inline: a uint32 >= 2^31 would be boxed (allocated) there.
// Only the FrameInfo fields hold the uint32 view (a double field is updated in place).

function setIPv4Addr(b: Uint8Array, info: FrameInfo, addr: number, ao: number): number {
  const old = rd32s(b, ao);
  const d = diff32(old, addr);
  wr32(b, ao, addr);
  const ho = info.l3Offset + 10;
  wr16(b, ho, applyDiff(rd16(b, ho), d));
  l4Update(b, info, d, 0);
  return OK;
}

/** Set the IPv4 source address (uint32); fixes the IP and TCP/UDP checksums. */
export function setIPv4Src(b: Uint8Array, info: FrameInfo, addr: number): number {
  if (info.ipVersion !== 4) return NOT_APPLICABLE;
  setIPv4Addr(b, info, addr | 0, info.srcAddrOffset);
  info.src4 = addr >>> 0;
  return OK;
}

/** Set the IPv4 destination address (uint32); fixes the IP and TCP/UDP checksums. */
export function setIPv4Dst(b: Uint8Array, info: FrameInfo, addr: number): number {
  if (info.ipVersion !== 4) return NOT_APPLICABLE;
  setIPv4Addr(b, info, addr | 0, info.dstAddrOffset);
  info.dst4 = addr >>> 0;
  return OK;
}

// --- IPv6 addresses ---

/**
 * Set the IPv6 source address from addr[addrOff, +16); fixes the TCP/UDP/ICMPv6 checksum.
 * Note: with a routing header the pseudo-header holds the final destination, not the
 * current one; these helpers assume no routing header with segments left.
 */
export function setIPv6Src(b: Uint8Array, info: FrameInfo, addr: Uint8Array, addrOff: number): number {
  if (info.ipVersion !== 6) return NOT_APPLICABLE;
  const ao = info.srcAddrOffset;
  const d = diff128(b, ao, addr, addrOff);
  ip6Copy(b, ao, addr, addrOff);
  l4Update(b, info, d, 0);
  return OK;
}

/** Set the IPv6 destination address from addr[addrOff, +16); fixes the transport checksum. */
export function setIPv6Dst(b: Uint8Array, info: FrameInfo, addr: Uint8Array, addrOff: number): number {
  if (info.ipVersion !== 6) return NOT_APPLICABLE;
  const ao = info.dstAddrOffset;
  const d = diff128(b, ao, addr, addrOff);
  ip6Copy(b, ao, addr, addrOff);
  l4Update(b, info, d, 0);
  return OK;
}

// --- ports ---

function hasPorts(info: FrameInfo): boolean {
  const p = info.protocol;
  return (
    info.ipVersion !== 0 &&
    info.fragment !== FRAG_LATER &&
    info.l4HeaderLen !== 0 &&
    (p === IPPROTO_TCP || p === IPPROTO_UDP || p === IPPROTO_SCTP)
  );
}

function setPort(b: Uint8Array, info: FrameInfo, port: number, po: number): void {
  const old = rd16(b, po);
  wr16(b, po, port);
  if (info.protocol === IPPROTO_SCTP) sctpRecrc(b, info);
  else l4Update(b, info, 0, diff16(old, port));
}

/** Set the TCP/UDP/SCTP source port; fixes the transport checksum. */
export function setSrcPort(b: Uint8Array, info: FrameInfo, port: number): number {
  if (!hasPorts(info)) return NOT_APPLICABLE;
  port &= 0xffff;
  setPort(b, info, port, info.l4Offset);
  info.srcPort = port;
  return OK;
}

/** Set the TCP/UDP/SCTP destination port; fixes the transport checksum. */
export function setDstPort(b: Uint8Array, info: FrameInfo, port: number): number {
  if (!hasPorts(info)) return NOT_APPLICABLE;
  port &= 0xffff;
  setPort(b, info, port, info.l4Offset + 2);
  info.dstPort = port;
  return OK;
}

// --- address + port in one pass (the NAT fast path) ---
// One call, one read-modify-write of each checksum, instead of two helper calls that each
// update the checksums: what a NAT datapath does per packet. Both fields must exist:
// NOT_APPLICABLE (nothing written) for frames without ports (ICMP, later fragments), which
// the caller handles with the single-field setters.

function nat4(b: Uint8Array, info: FrameInfo, addr: number, port: number, ao: number, po: number): void {
  const d = diff32(rd32s(b, ao), addr);
  wr32(b, ao, addr);
  const ho = info.l3Offset + 10;
  wr16(b, ho, applyDiff(rd16(b, ho), d));
  const oldP = rd16(b, po);
  wr16(b, po, port);
  if (info.protocol === IPPROTO_SCTP) sctpRecrc(b, info);
  else l4Update(b, info, d, diff16(oldP, port));
}

/** DNAT: IPv4 destination address and destination port together. */
export function natIPv4Dst(b: Uint8Array, info: FrameInfo, addr: number, port: number): number {
  if (info.ipVersion !== 4 || !hasPorts(info)) return NOT_APPLICABLE;
  port &= 0xffff;
  nat4(b, info, addr | 0, port, info.dstAddrOffset, info.l4Offset + 2);
  info.dst4 = addr >>> 0;
  info.dstPort = port;
  return OK;
}

/** SNAT / reply path: IPv4 source address and source port together. */
export function natIPv4Src(b: Uint8Array, info: FrameInfo, addr: number, port: number): number {
  if (info.ipVersion !== 4 || !hasPorts(info)) return NOT_APPLICABLE;
  port &= 0xffff;
  nat4(b, info, addr | 0, port, info.srcAddrOffset, info.l4Offset);
  info.src4 = addr >>> 0;
  info.srcPort = port;
  return OK;
}

function nat6(b: Uint8Array, info: FrameInfo, addr: Uint8Array, addrOff: number, port: number, ao: number, po: number): void {
  const d = diff128(b, ao, addr, addrOff);
  ip6Copy(b, ao, addr, addrOff);
  const oldP = rd16(b, po);
  wr16(b, po, port);
  if (info.protocol === IPPROTO_SCTP) sctpRecrc(b, info);
  else l4Update(b, info, d, diff16(oldP, port));
}

/** DNAT: IPv6 destination address (addr[addrOff, +16)) and destination port together. */
export function natIPv6Dst(b: Uint8Array, info: FrameInfo, addr: Uint8Array, addrOff: number, port: number): number {
  if (info.ipVersion !== 6 || !hasPorts(info)) return NOT_APPLICABLE;
  port &= 0xffff;
  nat6(b, info, addr, addrOff, port, info.dstAddrOffset, info.l4Offset + 2);
  info.dstPort = port;
  return OK;
}

/** SNAT / reply path: IPv6 source address and source port together. */
export function natIPv6Src(b: Uint8Array, info: FrameInfo, addr: Uint8Array, addrOff: number, port: number): number {
  if (info.ipVersion !== 6 || !hasPorts(info)) return NOT_APPLICABLE;
  port &= 0xffff;
  nat6(b, info, addr, addrOff, port, info.srcAddrOffset, info.l4Offset);
  info.srcPort = port;
  return OK;
}

// --- TTL / hop limit ---

/**
 * Decrement the IPv4 TTL (fixing the header checksum) or IPv6 hop limit. Returns
 * TTL_EXPIRED, writing nothing, when it is 0 or 1: a router must not forward it.
 */
export function decrementTtl(b: Uint8Array, info: FrameInfo): number {
  const l3 = info.l3Offset;
  if (info.ipVersion === 4) {
    const ttl = b[l3 + 8]!;
    if (ttl <= 1) return TTL_EXPIRED;
    // TTL shares a 16-bit word with the protocol: the word drops by 0x0100.
    const oldW = (ttl << 8) | b[l3 + 9]!;
    b[l3 + 8] = ttl - 1;
    wr16(b, l3 + 10, applyDiff(rd16(b, l3 + 10), diff16(oldW, oldW - 0x100)));
    info.ttl = ttl - 1;
    return OK;
  }
  if (info.ipVersion === 6) {
    const hl = b[l3 + 7]!;
    if (hl <= 1) return TTL_EXPIRED;
    b[l3 + 7] = hl - 1;
    info.ttl = hl - 1;
    return OK;
  }
  return NOT_APPLICABLE;
}

// --- packets quoted in ICMP / ICMPv6 errors ---
// Everything quoted lies inside the ICMP message, at even offsets from its start, so each
// changed word also goes into the outer ICMP checksum diff. ICMP errors arrive complete
// (never partial); if the outer checksum were partial, data changes would not touch it.

function innerUsable(info: FrameInfo, version: number): boolean {
  return info.ipVersion !== 0 && info.icmpError === 1 && info.innerReason === OK && info.innerIpVersion === version;
}

/** Fix the outer ICMP/ICMPv6 checksum for changed quoted bytes. */
function outerIcmpUpdate(b: Uint8Array, info: FrameInfo, diff: number): void {
  if (info.csumPartial !== 0) return;
  const co = info.l4CsumOffset;
  wr16(b, co, applyDiff(rd16(b, co), diff));
}

/**
 * Update the quoted transport checksum for a quoted pseudo-header change. Returns the diff
 * its own change makes to the outer ICMP checksum (0 when it was not touched).
 */
function innerL4PseudoUpdate(b: Uint8Array, info: FrameInfo, diff: number): number {
  const co = info.innerL4CsumOffset;
  if (co < 0) return 0;
  const p = info.innerProtocol;
  if (p !== IPPROTO_TCP && p !== IPPROTO_UDP && p !== IPPROTO_ICMPV6) return 0;
  const old = rd16(b, co);
  if (p === IPPROTO_UDP && old === 0) return 0;
  let nc = applyDiff(old, diff);
  if (nc === 0 && p === IPPROTO_UDP) nc = 0xffff;
  wr16(b, co, nc);
  return diff16(old, nc);
}

function innerSetIPv4Addr(b: Uint8Array, info: FrameInfo, addr: number, ao: number): void {
  const old = rd32s(b, ao);
  const d = diff32(old, addr);
  wr32(b, ao, addr);
  const ho = info.innerL3Offset + 10;
  const oldH = rd16(b, ho);
  const newH = applyDiff(oldH, d);
  wr16(b, ho, newH);
  outerIcmpUpdate(b, info, d + diff16(oldH, newH) + innerL4PseudoUpdate(b, info, d));
}

/** Set the source address of the IPv4 packet quoted in an ICMP error. */
export function icmpInnerSetIPv4Src(b: Uint8Array, info: FrameInfo, addr: number): number {
  if (!innerUsable(info, 4)) return NOT_APPLICABLE;
  innerSetIPv4Addr(b, info, addr | 0, info.innerSrcAddrOffset);
  info.innerSrc4 = addr >>> 0;
  return OK;
}

/** Set the destination address of the IPv4 packet quoted in an ICMP error. */
export function icmpInnerSetIPv4Dst(b: Uint8Array, info: FrameInfo, addr: number): number {
  if (!innerUsable(info, 4)) return NOT_APPLICABLE;
  innerSetIPv4Addr(b, info, addr | 0, info.innerDstAddrOffset);
  info.innerDst4 = addr >>> 0;
  return OK;
}

function innerSetIPv6Addr(b: Uint8Array, info: FrameInfo, addr: Uint8Array, addrOff: number, ao: number): void {
  const d = diff128(b, ao, addr, addrOff);
  ip6Copy(b, ao, addr, addrOff);
  outerIcmpUpdate(b, info, d + innerL4PseudoUpdate(b, info, d));
}

/** Set the source address of the IPv6 packet quoted in an ICMPv6 error. */
export function icmpInnerSetIPv6Src(b: Uint8Array, info: FrameInfo, addr: Uint8Array, addrOff: number): number {
  if (!innerUsable(info, 6)) return NOT_APPLICABLE;
  innerSetIPv6Addr(b, info, addr, addrOff, info.innerSrcAddrOffset);
  return OK;
}

/** Set the destination address of the IPv6 packet quoted in an ICMPv6 error. */
export function icmpInnerSetIPv6Dst(b: Uint8Array, info: FrameInfo, addr: Uint8Array, addrOff: number): number {
  if (!innerUsable(info, 6)) return NOT_APPLICABLE;
  innerSetIPv6Addr(b, info, addr, addrOff, info.innerDstAddrOffset);
  return OK;
}

function innerHasPorts(info: FrameInfo): boolean {
  const p = info.innerProtocol;
  return (
    info.ipVersion !== 0 &&
    info.icmpError === 1 &&
    info.innerReason === OK &&
    info.innerFragment !== FRAG_LATER &&
    (p === IPPROTO_TCP || p === IPPROTO_UDP || p === IPPROTO_SCTP)
  );
}

function innerSetPort(b: Uint8Array, info: FrameInfo, port: number, po: number): void {
  const old = rd16(b, po);
  wr16(b, po, port);
  const d = diff16(old, port);
  let outer = d;
  const co = info.innerL4CsumOffset;
  // SCTP's quoted CRC cannot be recomputed from a truncated quote; left as is.
  if (co >= 0 && info.innerProtocol !== IPPROTO_SCTP) {
    const oldC = rd16(b, co);
    if (!(info.innerProtocol === IPPROTO_UDP && oldC === 0)) {
      let nc = applyDiff(oldC, d);
      if (nc === 0 && info.innerProtocol === IPPROTO_UDP) nc = 0xffff;
      wr16(b, co, nc);
      outer += diff16(oldC, nc);
    }
  }
  outerIcmpUpdate(b, info, outer);
}

/** Set the source port of the TCP/UDP/SCTP packet quoted in an ICMP/ICMPv6 error. */
export function icmpInnerSetSrcPort(b: Uint8Array, info: FrameInfo, port: number): number {
  if (!innerHasPorts(info)) return NOT_APPLICABLE;
  port &= 0xffff;
  innerSetPort(b, info, port, info.innerL4Offset);
  info.innerSrcPort = port;
  return OK;
}

/** Set the destination port of the TCP/UDP/SCTP packet quoted in an ICMP/ICMPv6 error. */
export function icmpInnerSetDstPort(b: Uint8Array, info: FrameInfo, port: number): number {
  if (!innerHasPorts(info)) return NOT_APPLICABLE;
  port &= 0xffff;
  innerSetPort(b, info, port, info.innerL4Offset + 2);
  info.innerDstPort = port;
  return OK;
}

/** True when the ICMP/ICMPv6 message in info quotes a packet the inner setters can translate. */
export function icmpInnerTranslatable(info: FrameInfo): boolean {
  return info.ipVersion !== 0 && info.icmpError === 1 && info.innerReason === OK;
}
