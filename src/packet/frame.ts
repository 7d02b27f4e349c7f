// Top-level parse: Ethernet (or bare IP) -> ARP / IPv4 / IPv6 -> transport, into a reused
// FrameInfo. Returns a reason code, 0 = OK. Never throws and never reads outside
// [offset, offset + length), whatever the bytes: every read is preceded by a length check.

import { checkBounds } from './bounds.js';
import { parseArp } from './arp.js';
import { verifyL4 } from './checksum.js';
import { parseEthernet } from './ethernet.js';
import { parseIcmp } from './icmp.js';
import { parseIcmpv6 } from './icmpv6.js';
import type { FrameInfo } from './info.js';
import { FRAG_LATER, PARSE_CSUM_PARTIAL, PARSE_VERIFY_L4_CSUM } from './info.js';
import { parseIPv4 } from './ipv4.js';
import { parseIPv6 } from './ipv6.js';
import {
  ETH_P_ARP,
  ETH_P_IPV4,
  ETH_P_IPV6,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
} from './protocols.js';
import { BAD_BOUNDS, BAD_IP_VERSION, BAD_L4_CHECKSUM, OK, TRUNCATED_IPV4, UNSUPPORTED_ETHERTYPE } from './reasons.js';
import { parseSctp } from './sctp.js';
import { parseTcp } from './tcp.js';
import { parseUdp } from './udp.js';

/**
 * Parse the Ethernet frame at bytes[offset, offset + length) into out. flags: PARSE_*.
 * Returns OK (0) or a reason code from reasons.ts.
 */
export function parseFrame(bytes: Uint8Array, offset: number, length: number, out: FrameInfo, flags = 0): number {
  out.ipVersion = 0;
  out.csumPartial = (flags & PARSE_CSUM_PARTIAL) !== 0 ? 1 : 0;
  if (!checkBounds(bytes, offset, length)) return BAD_BOUNDS;
  const end = offset + length;
  const r = parseEthernet(bytes, offset, end, out);
  if (r !== OK) return r;
  const et = out.etherType;
  if (et === ETH_P_IPV4) {
    const r4 = parseIPv4(bytes, out.l3Offset, end, out, flags);
    return r4 !== OK ? r4 : parseL4(bytes, out, flags);
  }
  if (et === ETH_P_IPV6) {
    const r6 = parseIPv6(bytes, out.l3Offset, end, out, flags);
    return r6 !== OK ? r6 : parseL4(bytes, out, flags);
  }
  if (et === ETH_P_ARP) return parseArp(bytes, out.l3Offset, end, out);
  return UNSUPPORTED_ETHERTYPE;
}

/**
 * Parse a bare IP packet (no link header: tun devices, IPIP inner packets) at
 * bytes[offset, offset + length); the version nibble picks IPv4 or IPv6. Ethernet fields
 * are zeroed, etherType is set from the version and l3Offset = frameStart = offset.
 */
export function parseIp(bytes: Uint8Array, offset: number, length: number, out: FrameInfo, flags = 0): number {
  out.ipVersion = 0;
  out.csumPartial = (flags & PARSE_CSUM_PARTIAL) !== 0 ? 1 : 0;
  if (!checkBounds(bytes, offset, length)) return BAD_BOUNDS;
  const end = offset + length;
  out.frameStart = offset;
  out.frameEnd = end;
  out.vlanCount = 0;
  out.vlan0Tpid = 0;
  out.vlan0Tci = 0;
  out.vlan1Tpid = 0;
  out.vlan1Tci = 0;
  out.l3Offset = offset;
  out.etherType = 0;
  if (length < 1) return TRUNCATED_IPV4;
  const v = bytes[offset]! >>> 4;
  if (v === 4) {
    out.etherType = ETH_P_IPV4;
    const r4 = parseIPv4(bytes, offset, end, out, flags);
    return r4 !== OK ? r4 : parseL4(bytes, out, flags);
  }
  if (v === 6) {
    out.etherType = ETH_P_IPV6;
    const r6 = parseIPv6(bytes, offset, end, out, flags);
    return r6 !== OK ? r6 : parseL4(bytes, out, flags);
  }
  return BAD_IP_VERSION;
}

/**
 * Transport dispatch after a successful IP parse. Resets the transport fields first so
 * that a packet without ports (fragment, other protocol) never shows the previous
 * frame's ports.
 */
function parseL4(b: Uint8Array, out: FrameInfo, flags: number): number {
  const off = out.l4Offset;
  const end = out.ipEnd;
  out.srcPort = 0;
  out.dstPort = 0;
  out.l4CsumOffset = -1;
  out.l4HeaderLen = 0;
  out.payloadOffset = end;
  out.tcpFlags = 0;
  out.icmpError = 0; // icmpType/Code/Id/Mtu are written by the ICMP parsers themselves
  if (out.fragment === FRAG_LATER) return OK; // no transport header in this fragment
  const p = out.protocol;
  let r = OK;
  if (p === IPPROTO_TCP) r = parseTcp(b, off, end, out);
  else if (p === IPPROTO_UDP) r = parseUdp(b, off, end, out, flags);
  else if (p === IPPROTO_ICMP) {
    if (out.ipVersion === 4) r = parseIcmp(b, off, end, out);
  } else if (p === IPPROTO_ICMPV6) {
    if (out.ipVersion === 6) r = parseIcmpv6(b, off, end, out);
  } else if (p === IPPROTO_SCTP) r = parseSctp(b, off, end, out);
  if (r !== OK) return r;
  if ((flags & PARSE_VERIFY_L4_CSUM) !== 0 && !verifyL4(b, out)) return BAD_L4_CHECKSUM;
  return OK;
}
