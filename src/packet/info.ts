// FrameInfo: the result of parsing one frame. The datapath creates one instance per
// worker and passes it to every parse, so parsing allocates nothing; every field is a
// number and every field is assigned in the constructor, so all instances share one
// hidden class and property access stays monomorphic.
//
// Offsets are absolute indexes into the buffer that was parsed (not relative to the
// frame start), so rewrite helpers can use them directly.
//
// Validity: a field group is meaningful only when its guard says so. Parsing writes the
// groups it reaches; groups it does not reach keep values from an earlier frame, EXCEPT
// the ones the parser resets on purpose (listed below) so that stale ports/ICMP data can
// never be mistaken for the current frame's.
//   - Ethernet fields: always, once parse got past TRUNCATED_ETHERNET; vlan0* only when
//     vlanCount >= 1, vlan1* only when vlanCount === 2.
//   - ARP fields: etherType === ETH_P_ARP and the parse returned OK.
//   - IP fields: ipVersion !== 0 (reset to 0 at the start of every parse).
//   - Transport fields (srcPort, dstPort, l4CsumOffset, l4HeaderLen, payloadOffset,
//     tcpFlags, icmpError): reset to 0 / -1 / ipEnd for every IP packet, then set by the
//     transport parser for TCP, UDP, SCTP, ICMP and ICMPv6 headers in an unfragmented
//     packet or a first fragment. icmpType/icmpCode/icmpId/icmpMtu: only when the
//     protocol is ICMP (IPv4) / ICMPv6 (IPv6) and l4HeaderLen !== 0 (each store costs,
//     so fields with a guard are not cleared).
//   - innerReason: icmpError === 1; other inner* fields: also innerReason === OK.

/** Parse option flags (bit set), the last argument of parseFrame / parseIp. */
export const PARSE_VERIFY_IPV4_CSUM = 1;
/** Verify the TCP/UDP/ICMP/ICMPv6 checksum over the whole segment (slow, reads the payload). */
export const PARSE_VERIFY_L4_CSUM = 2;
/**
 * The frame is a GSO super-frame (virtio_net_hdr gso_type != NONE): the IP length may be 0
 * (BIG TCP) or larger than the bytes present, so the frame end is used instead of failing.
 */
export const PARSE_GSO = 4;
/**
 * The transport checksum is partial (virtio_net_hdr NEEDS_CSUM / TP_STATUS_CSUMNOTREADY):
 * it holds the pseudo-header sum, not complemented. Sets FrameInfo.csumPartial so the
 * rewrite helpers update it in the partial sense, and disables L4 checksum verification.
 */
export const PARSE_CSUM_PARTIAL = 8;

/** FrameInfo.fragment values. */
export const FRAG_NONE = 0;
/** First fragment: offset 0, more fragments follow; the transport header is present. */
export const FRAG_FIRST = 1;
/** Non-first fragment: no transport header in this packet, ports are 0. */
export const FRAG_LATER = 2;

export class FrameInfo {
  // --- frame bounds ---
  /** Offset of the first byte of the frame (Ethernet header, or IP header for parseIp). */
  frameStart = 0;
  /** Offset one past the last byte of the frame as given (includes Ethernet padding). */
  frameEnd = 0;

  // --- Ethernet (destination MAC at frameStart, source MAC at frameStart + 6) ---
  /** Ethertype after any VLAN tags. */
  etherType = 0;
  /** Number of VLAN tags: 0, 1 (802.1Q) or 2 (QinQ). */
  vlanCount = 0;
  /** Outer (first) tag: TPID and TCI (PCP:3 DEI:1 VID:12); valid when vlanCount >= 1. */
  vlan0Tpid = 0;
  vlan0Tci = 0;
  /** Inner (second) tag, QinQ only; valid when vlanCount === 2. */
  vlan1Tpid = 0;
  vlan1Tci = 0;
  /** Offset of the network header (ARP, IPv4 or IPv6). */
  l3Offset = 0;

  // --- ARP (sender MAC at l3Offset + 8, target MAC at l3Offset + 18) ---
  /** ARP opcode: 1 request, 2 reply. */
  arpOp = 0;
  /** Sender / target protocol address as uint32. */
  arpSenderIp = 0;
  arpTargetIp = 0;

  // --- IP (IPv4 or IPv6) ---
  /** 4 or 6; 0 when the frame is not IP (or parsing stopped before the IP header). */
  ipVersion = 0;
  /** IPv4: IHL*4. IPv6: 40 + all extension headers walked. Transport starts here. */
  ipHeaderLen = 0;
  /** Offset one past the IP packet: l3Offset + total length; Ethernet padding excluded. */
  ipEnd = 0;
  /** IPv4 TOS / IPv6 traffic class (DSCP << 2 | ECN). */
  tos = 0;
  /** IPv4 TTL / IPv6 hop limit. */
  ttl = 0;
  /** IPv4 identification / IPv6 fragment identification (0 without a fragment header). */
  ipId = 0;
  /** IPv4 DF bit (0/1); always 0 for IPv6. */
  dontFragment = 0;
  /** FRAG_NONE, FRAG_FIRST or FRAG_LATER. */
  fragment = 0;
  /** Fragment offset in bytes. */
  fragOffset = 0;
  /** More-fragments bit (0/1). */
  moreFragments = 0;
  /** IPv4 source / destination address as uint32; 0 for IPv6. */
  src4 = 0;
  dst4 = 0;
  /** Offset of the source / destination address field (4 or 16 bytes). */
  srcAddrOffset = 0;
  dstAddrOffset = 0;
  /** Upper-layer protocol: IPv4 protocol, or the IPv6 next header after extension headers. */
  protocol = 0;
  /** Offset of the upper-layer header (= l3Offset + ipHeaderLen). */
  l4Offset = 0;
  /** 1 when PARSE_GSO had to take the frame end as the IP end (length 0 or too large). */
  lengthFromFrame = 0;
  /** 1 when parsed with PARSE_CSUM_PARTIAL: the L4 checksum holds a pseudo-header sum. */
  csumPartial = 0;

  // --- transport (reset for every IP packet) ---
  /** TCP/UDP/SCTP ports; 0 for other protocols and non-first fragments. */
  srcPort = 0;
  dstPort = 0;
  /** Offset of the transport checksum field, -1 when absent or not incrementally updatable (SCTP). */
  l4CsumOffset = -1;
  /** Transport header length: TCP data offset*4, UDP 8, ICMP/ICMPv6 8, SCTP 12; 0 if unparsed. */
  l4HeaderLen = 0;
  /** Offset of the transport payload (l4Offset + l4HeaderLen), or ipEnd when unparsed. */
  payloadOffset = 0;
  /** TCP flags: FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE 0x40 CWR 0x80 (AE/NS 0x100). */
  tcpFlags = 0;
  /** ICMP / ICMPv6 type and code (the icmp* fields are valid only for ICMP / ICMPv6 packets). */
  icmpType = 0;
  icmpCode = 0;
  /** Echo request/reply identifier (ICMP 0/8, ICMPv6 128/129); 0 otherwise. */
  icmpId = 0;
  /** Next-hop MTU of ICMP frag-needed (type 3 code 4) or ICMPv6 packet-too-big; 0 otherwise. */
  icmpMtu = 0;
  /** 1 when this is an ICMP/ICMPv6 error that quotes a packet (inner* fields). */
  icmpError = 0;

  // --- packet quoted in an ICMP error (valid when icmpError === 1 && innerReason === 0) ---
  /** OK, or ICMP_INNER_* saying why the quoted packet could not be read. */
  innerReason = 0;
  innerL3Offset = 0;
  innerIpVersion = 0;
  innerIpHeaderLen = 0;
  innerProtocol = 0;
  innerSrc4 = 0;
  innerDst4 = 0;
  innerSrcAddrOffset = 0;
  innerDstAddrOffset = 0;
  /** Offset of the quoted transport header (its first 8 bytes are present). */
  innerL4Offset = 0;
  /** Quoted TCP/UDP/SCTP ports; 0 for other protocols. */
  innerSrcPort = 0;
  innerDstPort = 0;
  /** Offset of the quoted transport checksum when it lies inside the quote, else -1. */
  innerL4CsumOffset = -1;
  /** FRAG_* of the quoted packet. */
  innerFragment = 0;
}
