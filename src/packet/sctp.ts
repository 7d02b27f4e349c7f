// SCTP common header (RFC 9260): ports only. Its CRC32c covers neither addresses nor a
// pseudo-header, so address NAT leaves it alone; a port change needs a full CRC
// (crc32c in checksum.ts), done by rewrite's port setters.

import { rd16 } from './bytes.js';
import type { FrameInfo } from './info.js';
import { OK, TRUNCATED_L4 } from './reasons.js';

export const SCTP_HLEN = 12;
export const SCTP_CSUM = 8;

/** Parse the SCTP common header at b[off, end). l4CsumOffset stays -1 (not incremental). */
export function parseSctp(b: Uint8Array, off: number, end: number, out: FrameInfo): number {
  if (end - off < SCTP_HLEN) return TRUNCATED_L4;
  out.srcPort = rd16(b, off);
  out.dstPort = rd16(b, off + 2);
  out.l4HeaderLen = SCTP_HLEN;
  out.payloadOffset = off + SCTP_HLEN;
  return OK;
}
