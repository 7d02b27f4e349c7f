// Reason codes: why a frame could not be parsed or rewritten. Numbers, not strings or
// exceptions, so the datapath can return them from the hot loop without allocating and
// index per-reason drop counters with them (counters[reason]++). 0 means OK.
//
// Codes are stable: a new reason is appended, never renumbered, because counters and
// logs are keyed by the number. REASON_NAMES[code] gives the name for humans.

export const OK = 0;

// --- link layer ---
/** Frame shorter than the 14-byte Ethernet header. */
export const TRUNCATED_ETHERNET = 1;
/** A VLAN tag (802.1Q/802.1ad) announced but not all 4 bytes present. */
export const TRUNCATED_VLAN = 2;
/** More than two stacked VLAN tags (we parse 802.1Q and QinQ only). */
export const TOO_MANY_VLAN_TAGS = 3;
/** Ethertype (after tags) is not IPv4, IPv6 or ARP, or is an 802.3 length field. */
export const UNSUPPORTED_ETHERTYPE = 4;
/** ARP packet shorter than the 28 bytes of Ethernet/IPv4 ARP. */
export const TRUNCATED_ARP = 5;
/** ARP with hardware type not Ethernet, protocol not IPv4, or odd address lengths. */
export const UNSUPPORTED_ARP = 6;

// --- IPv4 ---
/** Fewer than 20 bytes for the IPv4 header, or fewer than IHL*4. */
export const TRUNCATED_IPV4 = 7;
/** Version nibble does not match the ethertype (or the outer protocol, when nested). */
export const BAD_IP_VERSION = 8;
/** IHL below 5 (header shorter than 20 bytes). */
export const BAD_IHL = 9;
/** IPv4 total length smaller than the header length. */
export const BAD_TOTAL_LENGTH = 10;
/** IP total/payload length runs past the end of the frame (and the frame is not GSO). */
export const IP_LENGTH_EXCEEDS_FRAME = 11;
/** IPv4 header checksum wrong (checked only with PARSE_VERIFY_IPV4_CSUM). */
export const BAD_IPV4_CHECKSUM = 12;
/** Fragment offset + fragment length beyond 65535 (ping of death). */
export const BAD_FRAGMENT = 13;

// --- IPv6 ---
/** Fewer than 40 bytes for the IPv6 fixed header. */
export const TRUNCATED_IPV6 = 14;
/** An extension header runs past the end of the IPv6 payload. */
export const TRUNCATED_IPV6_EXT = 15;
/** More extension headers than IPV6_MAX_EXT_HEADERS. */
export const IPV6_EXT_CHAIN_TOO_LONG = 16;
/** Hop-by-hop options header anywhere but right after the fixed header (RFC 8200 4.1). */
export const IPV6_HBH_NOT_FIRST = 17;

// --- transport ---
/** Not enough bytes for the transport header (TCP 20, UDP 8, ICMP 8, SCTP 12). */
export const TRUNCATED_L4 = 18;
/** TCP data offset below 5 or past the end of the segment. */
export const BAD_TCP_DATA_OFFSET = 19;
/** UDP length below 8 or past the end of the IP payload. */
export const BAD_UDP_LENGTH = 20;
/** Transport checksum wrong (checked only with PARSE_VERIFY_L4_CSUM). */
export const BAD_L4_CHECKSUM = 21;

// --- ICMP errors: reasons for FrameInfo.innerReason (the outer frame still parses OK) ---
/** The quoted (embedded) IP header is cut short. */
export const ICMP_INNER_TRUNCATED = 22;
/** The quoted IP header has a bad version/IHL or is not the outer family. */
export const ICMP_INNER_BAD_HEADER = 23;
/** Fewer than 8 bytes of the quoted transport header (RFC 792 promises 8). */
export const ICMP_INNER_L4_TRUNCATED = 24;

// --- rewrite / encapsulation / API ---
/** offset/length passed to the parser fall outside the buffer (caller bug). */
export const BAD_BOUNDS = 25;
/** Rewrite asked for a field the frame does not have (e.g. ports on a fragment). */
export const NOT_APPLICABLE = 26;
/** TTL/hop limit would reach 0: caller drops and may send ICMP time exceeded. */
export const TTL_EXPIRED = 27;
/** Encapsulated frame does not fit in the destination slot. */
export const ENCAP_NO_ROOM = 28;
/** Encapsulated packet larger than the tunnel MTU: caller sends frag-needed / PTB. */
export const ENCAP_EXCEEDS_MTU = 29;
/** Fewer than 10 bytes for a virtio_net_hdr. */
export const TRUNCATED_VNET_HDR = 30;
/** virtio_net_hdr csum_start/csum_offset point outside the frame. */
export const BAD_CSUM_OFFSETS = 31;
/** Operation supports only some inner/outer protocols (e.g. IPIP of an IPv6 packet). */
export const UNSUPPORTED_PROTOCOL = 32;

// --- segmentation, fragmentation, ICMP errors (gso.ts, fragment.ts, icmp-error.ts) ---
/** GSO segment size (MSS) 0, or so large that a segment would not fit an IP length field. */
export const BAD_GSO_SIZE = 33;
/** virtio gso_type we do not segment (UDP, UDP_L4), or not matching the packet (TCPV4 on IPv6, not TCP). */
export const UNSUPPORTED_GSO_TYPE = 34;
/** Output frame (segment, fragment, ICMP error) does not fit in the destination capacity. */
export const NO_ROOM = 35;
/** IPv4 packet larger than the MTU with DF set: not fragmented; caller answers ICMP frag-needed. */
export const FRAGMENTATION_NEEDED = 36;
/** MTU below the protocol minimum (IPv4 68, RFC 791) or too small for the headers. */
export const MTU_TOO_SMALL = 37;
/** No ICMP error about an ICMP error (or an unknown ICMP type) (RFC 1122 3.2.2, RFC 4443 2.4e). */
export const NO_ICMP_FOR_ICMP_ERROR = 38;
/** No ICMP error about a non-first fragment (RFC 1122 3.2.2). */
export const NO_ICMP_FOR_FRAGMENT = 39;
/** No ICMP error about a packet sent to a broadcast/multicast IP or link-layer address. */
export const NO_ICMP_FOR_MULTICAST = 40;
/** No ICMP error to a source that is not one host: 0/8, loopback, multicast, class E/broadcast, ::. */
export const NO_ICMP_FOR_BAD_SOURCE = 41;

/** Number of reason codes; size per-reason counter arrays with this. */
export const REASON_COUNT = 42;

/** REASON_NAMES[code] is the constant's name, for logs, counters and tests. */
export const REASON_NAMES: readonly string[] = Object.freeze([
  'OK',
  'TRUNCATED_ETHERNET',
  'TRUNCATED_VLAN',
  'TOO_MANY_VLAN_TAGS',
  'UNSUPPORTED_ETHERTYPE',
  'TRUNCATED_ARP',
  'UNSUPPORTED_ARP',
  'TRUNCATED_IPV4',
  'BAD_IP_VERSION',
  'BAD_IHL',
  'BAD_TOTAL_LENGTH',
  'IP_LENGTH_EXCEEDS_FRAME',
  'BAD_IPV4_CHECKSUM',
  'BAD_FRAGMENT',
  'TRUNCATED_IPV6',
  'TRUNCATED_IPV6_EXT',
  'IPV6_EXT_CHAIN_TOO_LONG',
  'IPV6_HBH_NOT_FIRST',
  'TRUNCATED_L4',
  'BAD_TCP_DATA_OFFSET',
  'BAD_UDP_LENGTH',
  'BAD_L4_CHECKSUM',
  'ICMP_INNER_TRUNCATED',
  'ICMP_INNER_BAD_HEADER',
  'ICMP_INNER_L4_TRUNCATED',
  'BAD_BOUNDS',
  'NOT_APPLICABLE',
  'TTL_EXPIRED',
  'ENCAP_NO_ROOM',
  'ENCAP_EXCEEDS_MTU',
  'TRUNCATED_VNET_HDR',
  'BAD_CSUM_OFFSETS',
  'UNSUPPORTED_PROTOCOL',
  'BAD_GSO_SIZE',
  'UNSUPPORTED_GSO_TYPE',
  'NO_ROOM',
  'FRAGMENTATION_NEEDED',
  'MTU_TOO_SMALL',
  'NO_ICMP_FOR_ICMP_ERROR',
  'NO_ICMP_FOR_FRAGMENT',
  'NO_ICMP_FOR_MULTICAST',
  'NO_ICMP_FOR_BAD_SOURCE',
]);

/** Name of a reason code; 'UNKNOWN_<n>' for numbers outside the table. Not for the hot path. */
export function reasonName(code: number): string {
  return code >= 0 && code < REASON_NAMES.length ? REASON_NAMES[code]! : `UNKNOWN_${code}`;
}
