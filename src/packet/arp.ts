// ARP for Ethernet/IPv4 (RFC 826): the only ARP a layer-4 balancer answers or learns from.

import { rd16, wr16, wr32 } from './bytes.js';
import { copyMac } from './ethernet.js';
import type { FrameInfo } from './info.js';
import { ETH_P_IPV4 } from './protocols.js';
import { OK, TRUNCATED_ARP, UNSUPPORTED_ARP } from './reasons.js';

/** Ethernet/IPv4 ARP packet length (without Ethernet padding). */
export const ARP_LEN = 28;
export const ARPHRD_ETHER = 1;
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;

/** Offsets inside the ARP packet. */
export const ARP_SHA = 8;
export const ARP_SPA = 14;
export const ARP_THA = 18;
export const ARP_TPA = 24;

/** Parse the ARP packet at b[off, end): fills arpOp, arpSenderIp, arpTargetIp. */
export function parseArp(b: Uint8Array, off: number, end: number, out: FrameInfo): number {
  if (end - off < ARP_LEN) return TRUNCATED_ARP;
  // htype, ptype, hlen, plen: only Ethernet/IPv4 has the 28-byte layout we read.
  if (rd16(b, off) !== ARPHRD_ETHER || rd16(b, off + 2) !== ETH_P_IPV4 || b[off + 4] !== 6 || b[off + 5] !== 4) {
    return UNSUPPORTED_ARP;
  }
  out.arpOp = rd16(b, off + 6);
  // U32: written out, see bytes.ts.
  out.arpSenderIp = ((b[off + 14]! << 24) | (b[off + 15]! << 16) | (b[off + 16]! << 8) | b[off + 17]!) >>> 0;
  out.arpTargetIp = ((b[off + 24]! << 24) | (b[off + 25]! << 16) | (b[off + 26]! << 8) | b[off + 27]!) >>> 0;
  return OK;
}

/**
 * Write an Ethernet/IPv4 ARP packet (28 bytes) at b[off]: opcode, sender MAC/IP and target
 * MAC/IP. The caller writes the Ethernet header in front. Returns the offset after it. Used
 * in the datapath to resolve neighbours and to answer for floating addresses.
 */
export function writeArp(
  b: Uint8Array,
  off: number,
  op: number,
  senderMac: Uint8Array,
  senderMacOff: number,
  senderIp: number,
  targetMac: Uint8Array,
  targetMacOff: number,
  targetIp: number,
): number {
  wr16(b, off, ARPHRD_ETHER);
  wr16(b, off + 2, ETH_P_IPV4);
  b[off + 4] = 6;
  b[off + 5] = 4;
  wr16(b, off + 6, op);
  copyMac(b, off + ARP_SHA, senderMac, senderMacOff);
  wr32(b, off + ARP_SPA, senderIp);
  copyMac(b, off + ARP_THA, targetMac, targetMacOff);
  wr32(b, off + ARP_TPA, targetIp);
  return off + ARP_LEN;
}
