// Ethernet II header with up to two VLAN tags (802.1Q, and QinQ: 802.1ad or 0x9100 outer).

import { rd16 } from './bytes.js';
import type { FrameInfo } from './info.js';
import { ETH_P_8021AD, ETH_P_8021Q, ETH_P_QINQ_9100 } from './protocols.js';
import { OK, TOO_MANY_VLAN_TAGS, TRUNCATED_ETHERNET, TRUNCATED_VLAN } from './reasons.js';

/** Ethernet header length without tags. */
export const ETH_HLEN = 14;
/** Length of one VLAN tag. */
export const VLAN_HLEN = 4;
/** Minimum Ethernet frame without FCS; shorter frames are padded by the sender. */
export const ETH_ZLEN = 60;
/** Tags we follow; a third is refused (TOO_MANY_VLAN_TAGS). */
export const MAX_VLAN_TAGS = 2;

function isVlanTpid(t: number): boolean {
  return t === ETH_P_8021Q || t === ETH_P_8021AD || t === ETH_P_QINQ_9100;
}

/**
 * Parse the Ethernet header at b[off, end): fills frameStart, frameEnd, etherType, vlan*,
 * l3Offset. Does not look at the payload, so any ethertype returns OK here.
 */
export function parseEthernet(b: Uint8Array, off: number, end: number, out: FrameInfo): number {
  out.frameStart = off;
  out.frameEnd = end;
  // vlan0*/vlan1* are written only when the tag exists: valid for index < vlanCount.
  out.vlanCount = 0;
  if (end - off < ETH_HLEN) return TRUNCATED_ETHERNET;
  let p = off + 12;
  let et = rd16(b, p);
  if (isVlanTpid(et)) {
    if (end - p < 2 + VLAN_HLEN) return TRUNCATED_VLAN;
    out.vlanCount = 1;
    out.vlan0Tpid = et;
    out.vlan0Tci = rd16(b, p + 2);
    p += VLAN_HLEN;
    et = rd16(b, p);
    if (isVlanTpid(et)) {
      if (end - p < 2 + VLAN_HLEN) return TRUNCATED_VLAN;
      out.vlanCount = 2;
      out.vlan1Tpid = et;
      out.vlan1Tci = rd16(b, p + 2);
      p += VLAN_HLEN;
      et = rd16(b, p);
      if (isVlanTpid(et)) return TOO_MANY_VLAN_TAGS;
    }
  }
  out.etherType = et;
  out.l3Offset = p + 2;
  return OK;
}

/** VLAN id (low 12 bits) of a TCI. */
export function vlanId(tci: number): number {
  return tci & 0x0fff;
}

/** Copy a 6-byte MAC from src[srcOff] to dst[dstOff]. */
export function copyMac(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number): void {
  dst[dstOff] = src[srcOff]!;
  dst[dstOff + 1] = src[srcOff + 1]!;
  dst[dstOff + 2] = src[srcOff + 2]!;
  dst[dstOff + 3] = src[srcOff + 3]!;
  dst[dstOff + 4] = src[srcOff + 4]!;
  dst[dstOff + 5] = src[srcOff + 5]!;
}

/** True when the MACs at a[aOff] and b[bOff] are equal. */
export function macEqual(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): boolean {
  return (
    a[aOff] === b[bOff] &&
    a[aOff + 1] === b[bOff + 1] &&
    a[aOff + 2] === b[bOff + 2] &&
    a[aOff + 3] === b[bOff + 3] &&
    a[aOff + 4] === b[bOff + 4] &&
    a[aOff + 5] === b[bOff + 5]
  );
}

/** True for group (multicast or broadcast) MACs: I/G bit of the first octet. */
export function isMulticastMac(b: Uint8Array, off: number): boolean {
  return (b[off]! & 1) === 1;
}

/** True for ff:ff:ff:ff:ff:ff. */
export function isBroadcastMac(b: Uint8Array, off: number): boolean {
  return (b[off]! & b[off + 1]! & b[off + 2]! & b[off + 3]! & b[off + 4]! & b[off + 5]!) === 0xff;
}

/**
 * Write an untagged Ethernet header at b[off]: destination and source MACs copied from
 * dstMac[dstMacOff] / srcMac[srcMacOff]. Returns the offset after it (off + 14).
 */
export function writeEthernetHeader(
  b: Uint8Array,
  off: number,
  dstMac: Uint8Array,
  dstMacOff: number,
  srcMac: Uint8Array,
  srcMacOff: number,
  etherType: number,
): number {
  copyMac(b, off, dstMac, dstMacOff);
  copyMac(b, off + 6, srcMac, srcMacOff);
  b[off + 12] = etherType >>> 8;
  b[off + 13] = etherType;
  return off + ETH_HLEN;
}
