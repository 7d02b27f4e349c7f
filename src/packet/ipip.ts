// IPIP tunnelling (RFC 2003, IPv4-in-IPv4, protocol 4), as IPVS's tunnel forwarding
// method: the real server receives the client's packet untouched inside an outer IPv4
// header addressed to it, and answers the client directly.

import { checkBounds } from './bounds.js';
import { copyBytes, wr16, wr32 } from './bytes.js';
import { pseudoSumV4, fold } from './checksum.js';
import { ETH_HLEN, writeEthernetHeader } from './ethernet.js';
import { parseIp } from './frame.js';
import type { FrameInfo } from './info.js';
import { FRAG_NONE } from './info.js';
import { IPV4_DF } from './ipv4.js';
import { ETH_P_IPV4, IPPROTO_IPIP, IPPROTO_IPV6 } from './protocols.js';
import { BAD_BOUNDS, BAD_IP_VERSION, ENCAP_EXCEEDS_MTU, ENCAP_NO_ROOM, NOT_APPLICABLE, OK, UNSUPPORTED_PROTOCOL } from './reasons.js';

/** Outer IPv4 header bytes added by encapsulation. */
export const IPIP_OVERHEAD = 20;

/** Tunnel parameters for encapIpip; create once per tunnel/next hop and reuse. */
export class IpipTunnel {
  /** Outer Ethernet addresses. */
  readonly srcMac = new Uint8Array(6);
  readonly dstMac = new Uint8Array(6);
  /** Outer IPv4 source (the balancer) and destination (the real server), uint32. */
  src = 0;
  dst = 0;
  /** Outer TTL; 0 copies the inner packet's TTL (IPVS behaviour). */
  ttl = 0;
  /** Largest outer IP packet allowed (the path MTU to the real server); 0 = no check. */
  mtu = 0;
  /** Identification for the next outer header; incremented (mod 2^16) per packet. */
  nextId = 0;
}

/**
 * Encapsulate the IPv4 packet described by info (src[l3Offset, ipEnd), Ethernet padding
 * dropped) into dst at dstOffset, within dstCapacity bytes: Ethernet header, outer IPv4
 * header (tunnel src/dst, TTL per tunnel.ttl, TOS and DF copied from the inner header, ID
 * from tunnel.nextId, checksum), then the inner packet. Returns the frame length written,
 * or a NEGATIVE reason: -ENCAP_EXCEEDS_MTU (caller answers frag-needed when the inner has
 * DF), -ENCAP_NO_ROOM, -UNSUPPORTED_PROTOCOL (inner not IPv4), -BAD_BOUNDS.
 * src and dst may be the same array (e.g. one view over the RX and TX rings) as long as
 * the ranges do not overlap.
 */
export function encapIpip(
  src: Uint8Array,
  info: FrameInfo,
  dst: Uint8Array,
  dstOffset: number,
  dstCapacity: number,
  t: IpipTunnel,
): number {
  if (info.ipVersion !== 4) return -UNSUPPORTED_PROTOCOL;
  if (!checkBounds(dst, dstOffset, dstCapacity)) return -BAD_BOUNDS;
  const innerLen = info.ipEnd - info.l3Offset;
  const outerLen = innerLen + IPIP_OVERHEAD;
  if ((t.mtu !== 0 && outerLen > t.mtu) || outerLen > 0xffff) return -ENCAP_EXCEEDS_MTU;
  const frameLen = ETH_HLEN + outerLen;
  if (frameLen > dstCapacity) return -ENCAP_NO_ROOM;
  const o = writeEthernetHeader(dst, dstOffset, t.dstMac, 0, t.srcMac, 0, ETH_P_IPV4);
  const id = t.nextId & 0xffff;
  t.nextId = (id + 1) & 0xffff;
  const ttl = t.ttl !== 0 ? t.ttl : info.ttl;
  const frag = info.dontFragment !== 0 ? IPV4_DF : 0;
  const outerSrc = t.src | 0; // int32: stays a Smi (see rewrite.ts)
  const outerDst = t.dst | 0;
  dst[o] = 0x45;
  dst[o + 1] = info.tos;
  wr16(dst, o + 2, outerLen);
  wr16(dst, o + 4, id);
  wr16(dst, o + 6, frag);
  dst[o + 8] = ttl;
  dst[o + 9] = IPPROTO_IPIP;
  wr32(dst, o + 12, outerSrc);
  wr32(dst, o + 16, outerDst);
  // Header checksum from the values just written: the address words are summed like a
  // pseudo-header, plus version/IHL/TOS, length, id, flags and TTL/protocol.
  const s =
    pseudoSumV4(outerSrc, outerDst, 0, 0) + ((0x45 << 8) | info.tos) + outerLen + id + frag + ((ttl << 8) | IPPROTO_IPIP);
  wr16(dst, o + 10, ~fold(s) & 0xffff);
  copyBytes(dst, o + IPIP_OVERHEAD, src, info.l3Offset, innerLen);
  return frameLen;
}

/** Offset of the packet carried by an IPIP (4) or 6in4 (41) packet, or -1. */
export function ipipInnerOffset(info: FrameInfo): number {
  if (info.ipVersion === 0 || info.fragment !== FRAG_NONE) return -1;
  return info.protocol === IPPROTO_IPIP || info.protocol === IPPROTO_IPV6 ? info.l4Offset : -1;
}

/**
 * Decapsulation view: parse the packet carried by an IPIP / 6in4 packet (info) into
 * `inner` (parseIp semantics: l3Offset = the inner header, no Ethernet fields). The bytes
 * are not moved. Returns OK or a reason; NOT_APPLICABLE when info is not a whole tunnel
 * packet (fragments must be reassembled first).
 */
export function decapIpip(b: Uint8Array, info: FrameInfo, inner: FrameInfo, flags = 0): number {
  const off = ipipInnerOffset(info);
  if (off < 0) return NOT_APPLICABLE;
  const r = parseIp(b, off, info.ipEnd - off, inner, flags);
  if (r !== OK) return r;
  const want = info.protocol === IPPROTO_IPIP ? 4 : 6;
  return inner.ipVersion === want ? OK : BAD_IP_VERSION;
}
