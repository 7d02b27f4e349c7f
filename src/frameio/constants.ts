// Kernel constants for AF_PACKET rings, fanout and the virtio-net header
// (linux/if_packet.h, linux/virtio_net.h). Plain numbers so the hot path can test bits.

/** EtherTypes (host order; bind protocol). */
export const ETH_P_ALL = 0x0003;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_IPV6 = 0x86dd;

// RX frame / block status (tp_status, block_status).
export const TP_STATUS_KERNEL = 0;
export const TP_STATUS_USER = 1 << 0;
/** TPACKET_V2 RX with PACKET_COPY_THRESH: the frame was cut to its slot and queued whole. */
export const TP_STATUS_COPY = 1 << 1;
export const TP_STATUS_LOSING = 1 << 2;
/** The frame carries a partial checksum (CHECKSUM_PARTIAL): csum_start/csum_offset apply. */
export const TP_STATUS_CSUMNOTREADY = 1 << 3;
/** tp_vlan_tci is valid (the VLAN tag was stripped from the frame). */
export const TP_STATUS_VLAN_VALID = 1 << 4;
/** Block status: the block was retired by the timeout, not because it was full. */
export const TP_STATUS_BLK_TMO = 1 << 5;
export const TP_STATUS_VLAN_TPID_VALID = 1 << 6;
/** The checksum was verified (by hardware or the stack); incoming frames only. */
export const TP_STATUS_CSUM_VALID = 1 << 7;
/** Newer kernels: the frame is a TCP GSO packet. */
export const TP_STATUS_GSO_TCP = 1 << 8;
export const TP_STATUS_TS_SOFTWARE = 1 << 29;
export const TP_STATUS_TS_RAW_HARDWARE = 1 << 31;

// TX frame status.
export const TP_STATUS_AVAILABLE = 0;
export const TP_STATUS_SEND_REQUEST = 1 << 0;
export const TP_STATUS_SENDING = 1 << 1;
export const TP_STATUS_WRONG_FORMAT = 1 << 2;

/** sockaddr_ll.sll_pkttype of a received frame. */
export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;
export const PACKET_OUTGOING = 4;

// Fanout modes and flags.
export const PACKET_FANOUT_HASH = 0;
export const PACKET_FANOUT_LB = 1;
export const PACKET_FANOUT_CPU = 2;
export const PACKET_FANOUT_ROLLOVER = 3;
export const PACKET_FANOUT_RND = 4;
export const PACKET_FANOUT_QM = 5;
export const PACKET_FANOUT_CBPF = 6;
export const PACKET_FANOUT_FLAG_ROLLOVER = 0x1000;
export const PACKET_FANOUT_FLAG_UNIQUEID = 0x2000;
export const PACKET_FANOUT_FLAG_IGNORE_OUTGOING = 0x4000;
export const PACKET_FANOUT_FLAG_DEFRAG = 0x8000;

// poll(2) events.
export const POLLIN = 0x001;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;

// struct virtio_net_hdr (10 bytes, host byte order for AF_PACKET): field offsets.
export const VNET_HDR_LEN = 10;
export const VNET_FLAGS = 0; // u8
export const VNET_GSO_TYPE = 1; // u8
export const VNET_HDR_LEN_FIELD = 2; // u16: Ethernet + IP + L4 header length
export const VNET_GSO_SIZE = 4; // u16: payload bytes per segment
export const VNET_CSUM_START = 6; // u16: where checksumming starts (from the Ethernet header)
export const VNET_CSUM_OFFSET = 8; // u16: where the checksum goes, relative to csum_start
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
export const VIRTIO_NET_HDR_GSO_UDP = 3;
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
export const VIRTIO_NET_HDR_GSO_UDP_L4 = 5;
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

/** Offset of frame data in a TX slot: TPACKET_ALIGN(sizeof(tpacket3_hdr)) = tp_hdrlen - sizeof(sockaddr_ll). */
export const TX_DATA_OFFSET = 48;

/**
 * TX frame size for GSO transmission with vnetHdr: slot header (48) + virtio_net_hdr (10)
 * + Ethernet (14) + VLAN tag (4) + a 65535-byte IP packet, rounded up to 16.
 */
export const TX_GSO_FRAME_SIZE = 65616;
