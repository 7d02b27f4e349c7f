// TCP header (RFC 9293): ports, flags, data offset. Sequence numbers and options are read
// on demand with the accessors below, so parsing pays only for what every packet needs.

import { rd16, rd32 } from './bytes.js';
import type { FrameInfo } from './info.js';
import { BAD_TCP_DATA_OFFSET, OK, TRUNCATED_L4 } from './reasons.js';

export const TCP_MIN_HLEN = 20;
/** Field offsets inside the TCP header. */
export const TCP_SEQ = 4;
export const TCP_ACK = 8;
export const TCP_CSUM = 16;
/** Flag bits of FrameInfo.tcpFlags. */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACKF = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;
/** AccECN AE (formerly NS), the low bit of byte 12. */
export const TCP_AE = 0x100;

/** Parse the TCP header at b[off, end) (end = IP end). */
export function parseTcp(b: Uint8Array, off: number, end: number, out: FrameInfo): number {
  const avail = end - off;
  if (avail < TCP_MIN_HLEN) return TRUNCATED_L4;
  const b12 = b[off + 12]!;
  const hl = (b12 >>> 4) << 2;
  if (hl < TCP_MIN_HLEN || hl > avail) return BAD_TCP_DATA_OFFSET;
  out.srcPort = rd16(b, off);
  out.dstPort = rd16(b, off + 2);
  out.tcpFlags = b[off + 13]! | ((b12 & 1) << 8);
  out.l4HeaderLen = hl;
  out.payloadOffset = off + hl;
  out.l4CsumOffset = off + TCP_CSUM;
  return OK;
}

/** Sequence number of the parsed segment (uint32). */
export function tcpSeq(b: Uint8Array, info: FrameInfo): number {
  return rd32(b, info.l4Offset + TCP_SEQ);
}

/** Acknowledgment number of the parsed segment (uint32). */
export function tcpAck(b: Uint8Array, info: FrameInfo): number {
  return rd32(b, info.l4Offset + TCP_ACK);
}

/** Bytes of TCP options (data offset*4 - 20). */
export function tcpOptionsLen(info: FrameInfo): number {
  return info.l4HeaderLen - TCP_MIN_HLEN;
}

/** Length of the TCP payload. */
export function tcpPayloadLen(info: FrameInfo): number {
  return info.ipEnd - info.payloadOffset;
}
