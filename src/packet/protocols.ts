// Protocol numbers the packet library speaks about: ethertypes and IP protocol numbers.

/** Ethertypes (host numbers, compare with FrameInfo.etherType). */
export const ETH_P_IPV4 = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_IPV6 = 0x86dd;
/** 802.1Q customer VLAN tag. */
export const ETH_P_8021Q = 0x8100;
/** 802.1ad service VLAN tag (QinQ outer tag). */
export const ETH_P_8021AD = 0x88a8;
/** Pre-standard QinQ outer tag still seen on some switches. */
export const ETH_P_QINQ_9100 = 0x9100;
/** Values below this in the ethertype position are 802.3 lengths, not ethertypes. */
export const ETH_P_MIN = 0x0600;

/** IP protocol / IPv6 next-header numbers. */
export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_IPIP = 4;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_GRE = 47;
export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;
export const IPPROTO_SCTP = 132;
