// The per-frame work of `uvs decap`, separate from sockets so it can be tested on plain
// buffers: validate the outer header, find and validate the inner packet, check it is for
// a VIP, apply ECN decapsulation (RFC 6040: outer CE is copied in, CE over not-ECT is
// dropped), and write a virtio_net_hdr for the TUN device in the 10 bytes just before the
// inner packet (they belong to the outer IPv4 header, which is no longer needed). The
// caller then writes [vnetHdrOffset, vnetHdrOffset + writeLength) to the TUN fd: no copy,
// no allocation.
//
// Offloads pass through: a frame that arrived with a partial checksum (CHECKSUM_PARTIAL,
// TP_STATUS_CSUMNOTREADY; with a vnet-header socket its csum_start/csum_offset) keeps it,
// re-based on the inner packet, and a GSO super-frame keeps its gso_type/gso_size, so the
// server's stack treats the inner packet as it would coming out of tunl0.

import { HOST_LE } from '../frameio/handle.js';
import { fold } from '../packet/checksum.js';
import { ip4FromString, ip6FromString } from '../packet/addr.js';
import { rd16, wr16 } from '../packet/bytes.js';
import { parseFrame } from '../packet/frame.js';
import { FRAG_NONE, FrameInfo, PARSE_CSUM_PARTIAL, PARSE_GSO, PARSE_VERIFY_IPV4_CSUM } from '../packet/info.js';
import { decapIpip } from '../packet/ipip.js';
import { ETH_P_IPV4, IPPROTO_IPIP, IPPROTO_IPV6 } from '../packet/protocols.js';
import { BAD_IP_VERSION, OK, REASON_COUNT, REASON_NAMES, TRUNCATED_ETHERNET } from '../packet/reasons.js';
import { isIPv4, isIPv6 } from 'node:net';
import { UvsError } from '../errors.js';
import { DECAP_ERROR_CODES } from './tun.js';

/** Counter indexes (DecapCore.counters). */
export const DECAP = {
  /** Frames taken from the RX ring. */
  rxFrames: 0,
  /** Inner packets written to the TUN device. */
  decapsulated: 1,
  /** Of which IPv6 (6in4, protocol 41). */
  decapsulated6: 2,
  /** Not a tunnel packet: not IPv4 / not protocol 4 (41), or its payload is not an IPv4 (IPv6) packet. */
  notIpip: 3,
  /** The outer IPv4 header is malformed (per reason in badOuterReasons). */
  badOuter: 4,
  /** The outer packet is a fragment (not reassembled here). */
  outerFragments: 5,
  /** The inner header is malformed (per reason in badInnerReasons). */
  badInner: 6,
  /** The inner destination is not one of the VIPs. */
  notForVip: 7,
  /** Outer CE over an inner not-ECT packet (RFC 6040: drop). */
  ecnDrops: 8,
  /** write(2) to the TUN device failed. */
  writeErrors: 9,
  /** The ring held fewer bytes than the frame had (snap length < wire length). */
  truncated: 10,
  /** Partial-checksum metadata that does not point into the inner packet. */
  badOffload: 11,
  /** Bytes of inner packets written. */
  bytes: 12,
} as const;
const COUNTER_COUNT = 13;

export type DecapCounterName = keyof typeof DECAP;

/** process() results. */
export const DECAPSULATED = 0;
export const DROPPED = 1;

const VNET_HDR = 10;
const VNET_F_NEEDS_CSUM = 1;

export interface DecapCoreOptions {
  /** VIPs the inner destination must be one of (IPv4, and IPv6 with sixInFour); empty = any. */
  vips?: string[];
  /** Also decapsulate IPv6-in-IPv4 (protocol 41). */
  sixInFour?: boolean;
}

/** Per-frame metadata from the RX ring (or a test). */
export interface FrameMeta {
  /** tp_len: bytes on the wire (>= length). */
  wireLength: number;
  /** TP_STATUS_CSUMNOTREADY: the inner L4 checksum is partial. */
  csumPartial: boolean;
  /** From the RX virtio_net_hdr (-1 when the socket has none): csum_start (from the Ethernet header) and csum_offset. */
  csumStart: number;
  csumOffset: number;
  /** VIRTIO_NET_HDR_GSO_* (0 none), its gso_size and hdr_len (from the Ethernet header). */
  gsoType: number;
  gsoSize: number;
  hdrLen: number;
}

export class DecapCore {
  readonly counters = new Float64Array(COUNTER_COUNT);
  readonly badOuterReasons = new Float64Array(REASON_COUNT);
  readonly badInnerReasons = new Float64Array(REASON_COUNT);
  /** After process() returned DECAPSULATED: what to write to the TUN device. */
  writeOffset = 0;
  writeLength = 0;
  readonly sixInFour: boolean;
  /** VIPs as given (normalised text), for describe(). */
  readonly vipList: string[];

  private readonly outer = new FrameInfo();
  private readonly inner = new FrameInfo();
  private readonly vip4: Int32Array;
  private readonly vip6: Uint8Array;
  private readonly anyVip: boolean;

  constructor(options: DecapCoreOptions = {}) {
    this.sixInFour = options.sixInFour ?? false;
    const v4: number[] = [];
    const v6: Uint8Array[] = [];
    for (const a of options.vips ?? []) {
      if (isIPv4(a)) v4.push(ip4FromString(a) | 0);
      else if (isIPv6(a)) {
        if (!this.sixInFour) throw new UvsError(DECAP_ERROR_CODES.BAD_OPTION, `--vip ${a} is IPv6: IPv6 VIPs need --6in4 (IPv6-in-IPv4, protocol 41)`);
        v6.push(ip6FromString(a));
      } else throw new UvsError(DECAP_ERROR_CODES.BAD_OPTION, `--vip ${JSON.stringify(a)} is not an IP address`);
    }
    this.vipList = [...(options.vips ?? [])];
    this.vip4 = Int32Array.from(v4);
    this.vip6 = new Uint8Array(v6.length * 16);
    v6.forEach((b, i) => this.vip6.set(b, i * 16));
    this.anyVip = v4.length + v6.length === 0;
  }

  /**
   * Handles the Ethernet frame b[off, off + len). Returns DECAPSULATED (then write
   * b[writeOffset, writeOffset + writeLength) to the TUN fd, and call wrote() or
   * writeFailed()) or DROPPED (counted). May modify the frame's outer header bytes.
   */
  process(b: Uint8Array, off: number, len: number, m: FrameMeta): number {
    const c = this.counters;
    c[DECAP.rxFrames]++;
    if (len < m.wireLength) {
      c[DECAP.truncated]++;
      return DROPPED;
    }
    const gso = m.gsoType > 0 ? m.gsoType : 0;
    let flags = PARSE_VERIFY_IPV4_CSUM;
    if (gso !== 0) flags |= PARSE_GSO;
    if (m.csumPartial) flags |= PARSE_CSUM_PARTIAL;
    const o = this.outer;
    const r = parseFrame(b, off, len, o, flags);
    if (r !== OK) {
      if (r !== TRUNCATED_ETHERNET && o.etherType !== ETH_P_IPV4) c[DECAP.notIpip]++;
      else {
        c[DECAP.badOuter]++;
        this.badOuterReasons[r]++;
      }
      return DROPPED;
    }
    const proto = o.protocol;
    if (o.ipVersion !== 4 || (proto !== IPPROTO_IPIP && (proto !== IPPROTO_IPV6 || !this.sixInFour))) {
      c[DECAP.notIpip]++;
      return DROPPED;
    }
    if (o.fragment !== FRAG_NONE) {
      c[DECAP.outerFragments]++;
      return DROPPED;
    }
    const i = this.inner;
    const ri = decapIpip(b, o, i, flags);
    if (ri !== OK) {
      if (ri === BAD_IP_VERSION) c[DECAP.notIpip]++;
      else {
        c[DECAP.badInner]++;
        this.badInnerReasons[ri]++;
      }
      return DROPPED;
    }
    if (!this.anyVip && !this.isVip(b, i)) {
      c[DECAP.notForVip]++;
      return DROPPED;
    }
    const l3 = i.l3Offset;
    // RFC 6040 (normal mode), as the kernel's INET_ECN_decapsulate: outer CE marks the
    // inner packet CE, or drops it when the inner packet is not ECN-capable.
    if ((o.tos & 3) === 3 && (i.tos & 3) !== 3) {
      if ((i.tos & 3) === 0) {
        c[DECAP.ecnDrops]++;
        return DROPPED;
      }
      if (i.ipVersion === 4) {
        const old = rd16(b, l3);
        const now = old | 3;
        b[l3 + 1] = now & 0xff;
        // RFC 1624 eqn. 3 on the header checksum.
        const ck = rd16(b, l3 + 10);
        wr16(b, l3 + 10, ~fold((~ck & 0xffff) + (~old & 0xffff) + now) & 0xffff);
      } else {
        b[l3 + 1] = b[l3 + 1]! | 0x30;
      }
    }
    const innerLen = i.ipEnd - l3;
    const delta = l3 - off;
    const h = l3 - VNET_HDR;
    // virtio_net_hdr for the TUN device, in host byte order.
    b[h] = 0;
    b[h + 1] = gso;
    put16(b, h + 2, 0);
    put16(b, h + 4, 0);
    put16(b, h + 6, 0);
    put16(b, h + 8, 0);
    if (m.csumPartial) {
      const start = m.csumStart - delta;
      if (m.csumStart < 0 || start < i.ipHeaderLen || start + m.csumOffset + 2 > innerLen) {
        c[DECAP.badOffload]++;
        return DROPPED;
      }
      b[h] = VNET_F_NEEDS_CSUM;
      put16(b, h + 6, start);
      put16(b, h + 8, m.csumOffset);
    }
    if (gso !== 0) {
      put16(b, h + 2, m.hdrLen > delta ? m.hdrLen - delta : 0);
      put16(b, h + 4, m.gsoSize);
    }
    this.writeOffset = h;
    this.writeLength = innerLen + VNET_HDR;
    return DECAPSULATED;
  }

  /** Count a successful write of the packet process() prepared. */
  wrote(): void {
    this.counters[DECAP.decapsulated]++;
    if (this.inner.ipVersion === 6) this.counters[DECAP.decapsulated6]++;
    this.counters[DECAP.bytes] += this.writeLength - VNET_HDR;
  }

  writeFailed(): void {
    this.counters[DECAP.writeErrors]++;
  }

  private isVip(b: Uint8Array, i: FrameInfo): boolean {
    if (i.ipVersion === 4) {
      const d = i.dst4 | 0;
      const v = this.vip4;
      for (let k = 0; k < v.length; k++) if (v[k] === d) return true;
      return false;
    }
    const v6 = this.vip6;
    const d = i.dstAddrOffset;
    for (let k = 0; k < v6.length; k += 16) {
      let j = 0;
      while (j < 16 && b[d + j] === v6[k + j]) j++;
      if (j === 16) return true;
    }
    return false;
  }

  /** Counters as a plain object (with the non-zero per-reason drops by name). */
  stats(): DecapStats {
    const c = this.counters;
    const out = {} as Record<DecapCounterName, number>;
    for (const [name, idx] of Object.entries(DECAP)) out[name as DecapCounterName] = c[idx]!;
    const reasons = (arr: Float64Array): Record<string, number> => {
      const r: Record<string, number> = {};
      arr.forEach((n, k) => {
        if (n > 0) r[REASON_NAMES[k] ?? `UNKNOWN_${k}`] = n;
      });
      return r;
    };
    return { ...out, badOuterReasons: reasons(this.badOuterReasons), badInnerReasons: reasons(this.badInnerReasons) };
  }
}

export type DecapStats = Record<DecapCounterName, number> & {
  badOuterReasons: Record<string, number>;
  badInnerReasons: Record<string, number>;
};

function put16(b: Uint8Array, o: number, v: number): void {
  if (HOST_LE) {
    b[o] = v & 0xff;
    b[o + 1] = (v >>> 8) & 0xff;
  } else {
    b[o] = (v >>> 8) & 0xff;
    b[o + 1] = v & 0xff;
  }
}
