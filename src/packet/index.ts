// The packet library: parse frames into a reused FrameInfo, rewrite them in place with
// incremental checksums, encapsulate (IPIP), handle virtio_net_hdr offload metadata, and
// build frames for tests and tools. See docs/packet.md.

export * from './reasons.js';
export * from './protocols.js';
export * from './info.js';
export * from './bytes.js';
export * from './checksum.js';
export * from './ethernet.js';
export * from './arp.js';
export * from './ipv4.js';
export * from './ipv6.js';
export * from './tcp.js';
export * from './udp.js';
export * from './sctp.js';
export * from './icmp.js';
export * from './icmpv6.js';
export * from './frame.js';
export * from './rewrite.js';
export * from './vnet.js';
export * from './ipip.js';
export * from './addr.js';
export * from './builder.js';
export * from './copy.js';
export * from './gso.js';
export * from './fragment.js';
export * from './icmp-error.js';
