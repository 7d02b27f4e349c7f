// Frame builder for tests and tools: a plain (JSON-able) description in, the frame bytes
// out, with lengths and checksums computed. Not for the datapath: it allocates freely and
// throws UvsError on descriptions it cannot build. The golden fixtures carry these
// descriptions, and the tests check the builder byte-for-byte against scapy's output.
//
// Defaults (used when a field is omitted): MACs 02:00:00:00:00:01 (src) / :02 (dst), IPv4
// id 0, ttl 64, no DF; IPv6 tc/flow 0, hop limit 64; TCP seq/ack 0, flags SYN, window
// 65535; ICMP id/seq 0; ARP request.

import { UvsError } from '../errors.js';
import { hexToBytes, ip4FromString, ip6FromString, macFromString } from './addr.js';
import { wr16, wr32 } from './bytes.js';
import { crc32c, fold, internetChecksum, pseudoSumV4, sumAddr6, sumWords } from './checksum.js';
import {
  ETH_P_8021Q,
  ETH_P_ARP,
  ETH_P_IPV4,
  ETH_P_IPV6,
  IPPROTO_AH,
  IPPROTO_DSTOPTS,
  IPPROTO_FRAGMENT,
  IPPROTO_HOPOPTS,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_NONE,
  IPPROTO_ROUTING,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
} from './protocols.js';

export interface VlanDesc {
  /** Tag protocol id; default 0x8100 (use 0x88a8 for a QinQ outer tag). */
  tpid?: number;
  pcp?: number;
  dei?: number;
  vid: number;
}
export interface EthDesc {
  src?: string;
  dst?: string;
  /** Outer tag first. */
  vlans?: VlanDesc[];
  /** Ethertype override (default from the next layer). */
  type?: number;
}
export interface ArpDesc {
  op?: number;
  /** Default: the Ethernet source. */
  sha?: string;
  spa: string;
  /** Default 00:00:00:00:00:00. */
  tha?: string;
  tpa: string;
}
export interface Ipv4Desc {
  src: string;
  dst: string;
  tos?: number;
  id?: number;
  df?: boolean;
  mf?: boolean;
  /** Fragment offset in bytes (multiple of 8). */
  fragOffset?: number;
  ttl?: number;
  /** Protocol override (default from the next layer; 0 without one). */
  proto?: number;
  /** Raw option bytes, hex; zero-padded to a multiple of 4. */
  options?: string;
  /** Overrides, for building broken headers. */
  ihl?: number;
  totalLength?: number;
  checksum?: number;
}
export interface Ipv6ExtDesc {
  type: 'hbh' | 'dst' | 'routing' | 'frag' | 'ah';
  /** hbh/dst: option TLVs, hex; padded with Pad1/PadN to a multiple of 8 like scapy. */
  options?: string;
  /** routing (type 0 layout, as scapy's IPv6ExtHdrRouting): addresses and segments left. */
  addresses?: string[];
  segLeft?: number;
  routingType?: number;
  /** frag: offset in bytes, M flag, identification. */
  fragOffset?: number;
  m?: boolean;
  id?: number;
  /** ah: SPI, sequence, ICV hex (length a multiple of 4). */
  spi?: number;
  seq?: number;
  icv?: string;
}
export interface Ipv6Desc {
  src: string;
  dst: string;
  tc?: number;
  fl?: number;
  hlim?: number;
  /** Next header after the last extension header (default from the next layer). */
  nh?: number;
  plen?: number;
  ext?: Ipv6ExtDesc[];
}
export interface TcpDesc {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  /** Flag bits (TCP_* in tcp.ts); default SYN. */
  flags?: number;
  window?: number;
  urgptr?: number;
  /** Raw option bytes, hex; zero-padded to a multiple of 4. */
  options?: string;
  dataofs?: number;
  checksum?: number;
}
export interface UdpDesc {
  sport: number;
  dport: number;
  len?: number;
  /** Override; 0 sends "no checksum". */
  checksum?: number;
}
export interface SctpDesc {
  sport: number;
  dport: number;
  tag?: number;
  /** Chunks, hex. */
  chunks?: string;
  checksum?: number;
}
export interface IcmpDesc {
  type: number;
  code?: number;
  /** Echo (and other id/seq types): identifier and sequence. */
  id?: number;
  seq?: number;
  /** ICMP dest-unreach next-hop MTU (low 16 bits of the word) / ICMPv6 packet-too-big MTU. */
  mtu?: number;
  /** The 32-bit rest-of-header word for other types (e.g. parameter-problem pointer). */
  rest?: number;
  /** The packet quoted by an error: an IP-level description (no eth). */
  quote?: FrameDesc;
  /** Bytes of the built quote to keep (default all). */
  quoteLen?: number;
  checksum?: number;
}
export interface FrameDesc {
  /** Absent: a bare IP packet. */
  eth?: EthDesc;
  arp?: ArpDesc;
  ipv4?: Ipv4Desc;
  ipv6?: Ipv6Desc;
  tcp?: TcpDesc;
  udp?: UdpDesc;
  sctp?: SctpDesc;
  icmp?: IcmpDesc;
  icmpv6?: IcmpDesc;
  /** Transport payload (or IP payload without a transport), hex. */
  payload?: string;
  /** Zero-pad the whole frame to at least this many bytes (Ethernet padding). */
  padTo?: number;
}

const bad = (msg: string): never => {
  throw new UvsError('UVS_BAD_FRAME_DESC', msg);
};

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function padTo4(b: Uint8Array): Uint8Array {
  return b.length % 4 === 0 ? b : concat([b, new Uint8Array(4 - (b.length % 4))]);
}

/** Pad IPv6 option TLVs so that 2 + length is a multiple of 8 (Pad1 / PadN, RFC 8200 4.2). */
function padOptions6(opts: Uint8Array): Uint8Array {
  const need = (8 - ((2 + opts.length) % 8)) % 8;
  if (need === 0) return opts;
  if (need === 1) return concat([opts, new Uint8Array([0])]);
  const padn = new Uint8Array(need);
  padn[0] = 1;
  padn[1] = need - 2;
  return concat([opts, padn]);
}

interface Transport {
  proto: number;
  bytes: Uint8Array;
  /** Offset of the checksum in bytes, -1 for none to compute. */
  csumAt: number;
  /** 'pseudo' (TCP/UDP/ICMPv6), 'plain' (ICMP), 'crc' (SCTP), 'none'. */
  kind: 'pseudo' | 'plain' | 'crc' | 'none';
  udp: boolean;
  override: number | undefined;
}

function buildTransport(d: FrameDesc, v6: boolean): Transport {
  const payload = d.payload !== undefined ? hexToBytes(d.payload) : new Uint8Array(0);
  const count = [d.tcp, d.udp, d.sctp, d.icmp, d.icmpv6].filter((x) => x !== undefined).length;
  if (count > 1) bad('more than one transport layer');
  if (d.tcp) {
    const t = d.tcp;
    const opts = padTo4(t.options !== undefined ? hexToBytes(t.options) : new Uint8Array(0));
    const h = new Uint8Array(20 + opts.length);
    wr16(h, 0, t.sport);
    wr16(h, 2, t.dport);
    wr32(h, 4, t.seq ?? 0);
    wr32(h, 8, t.ack ?? 0);
    const flags = t.flags ?? 0x02;
    h[12] = ((t.dataofs ?? h.length / 4) << 4) | ((flags >>> 8) & 1);
    h[13] = flags & 0xff;
    wr16(h, 14, t.window ?? 65535);
    wr16(h, 18, t.urgptr ?? 0);
    h.set(opts, 20);
    return { proto: IPPROTO_TCP, bytes: concat([h, payload]), csumAt: 16, kind: 'pseudo', udp: false, override: t.checksum };
  }
  if (d.udp) {
    const u = d.udp;
    const h = new Uint8Array(8);
    wr16(h, 0, u.sport);
    wr16(h, 2, u.dport);
    wr16(h, 4, u.len ?? 8 + payload.length);
    return { proto: IPPROTO_UDP, bytes: concat([h, payload]), csumAt: 6, kind: 'pseudo', udp: true, override: u.checksum };
  }
  if (d.sctp) {
    const s = d.sctp;
    const h = new Uint8Array(12);
    wr16(h, 0, s.sport);
    wr16(h, 2, s.dport);
    wr32(h, 4, s.tag ?? 0);
    const chunks = s.chunks !== undefined ? hexToBytes(s.chunks) : new Uint8Array(0);
    return { proto: IPPROTO_SCTP, bytes: concat([h, chunks, payload]), csumAt: 8, kind: 'crc', udp: false, override: s.checksum };
  }
  const ic = d.icmp ?? d.icmpv6;
  if (ic) {
    const six = d.icmpv6 !== undefined;
    if (six !== v6) bad(six ? 'icmpv6 over IPv4' : 'icmp over IPv6');
    const h = new Uint8Array(8);
    h[0] = ic.type;
    h[1] = ic.code ?? 0;
    if (ic.id !== undefined || ic.seq !== undefined) {
      wr16(h, 4, ic.id ?? 0);
      wr16(h, 6, ic.seq ?? 0);
    } else if (ic.mtu !== undefined) {
      wr32(h, 4, ic.mtu);
    } else {
      wr32(h, 4, ic.rest ?? 0);
    }
    let quote: Uint8Array = new Uint8Array(0);
    if (ic.quote) {
      if (ic.quote.eth) bad('an ICMP quote is an IP packet: no eth');
      const q = buildFrame(ic.quote);
      quote = q.subarray(0, Math.min(q.length, ic.quoteLen ?? q.length));
    }
    return {
      proto: six ? IPPROTO_ICMPV6 : IPPROTO_ICMP,
      bytes: concat([h, quote, payload]),
      csumAt: 2,
      kind: six ? 'pseudo' : 'plain',
      udp: false,
      override: ic.checksum,
    };
  }
  return { proto: -1, bytes: payload, csumAt: -1, kind: 'none', udp: false, override: undefined };
}

function fillTransportChecksum(t: Transport, pseudo: number): void {
  const b = t.bytes;
  if (t.csumAt < 0) return;
  if (t.override !== undefined) {
    if (t.kind === 'crc') wr32(b, t.csumAt, t.override);
    else wr16(b, t.csumAt, t.override);
    return;
  }
  if (t.kind === 'crc') {
    const c = crc32c(b, 0, b.length, 0);
    // Stored little-endian, as Linux's sctp_compute_cksum (cpu_to_le32).
    b[8] = c;
    b[9] = c >>> 8;
    b[10] = c >>> 16;
    b[11] = c >>> 24;
    return;
  }
  let c = ~fold(sumWords(b, 0, b.length, t.kind === 'pseudo' ? pseudo : 0)) & 0xffff;
  if (c === 0 && t.udp) c = 0xffff;
  wr16(b, t.csumAt, c);
}

function buildIPv4(d: FrameDesc, ip: Ipv4Desc): Uint8Array {
  const t = buildTransport(d, false);
  const opts = padTo4(ip.options !== undefined ? hexToBytes(ip.options) : new Uint8Array(0));
  const h = new Uint8Array(20 + opts.length);
  const src = ip4FromString(ip.src);
  const dst = ip4FromString(ip.dst);
  const proto = ip.proto ?? (t.proto >= 0 ? t.proto : 0);
  h[0] = 0x40 | (ip.ihl ?? h.length / 4);
  h[1] = ip.tos ?? 0;
  wr16(h, 2, ip.totalLength ?? h.length + t.bytes.length);
  wr16(h, 4, ip.id ?? 0);
  const fo = ip.fragOffset ?? 0;
  if (fo % 8 !== 0) bad('IPv4 fragment offset must be a multiple of 8');
  wr16(h, 6, (ip.df ? 0x4000 : 0) | (ip.mf ? 0x2000 : 0) | (fo >>> 3));
  h[8] = ip.ttl ?? 64;
  h[9] = proto;
  wr32(h, 12, src);
  wr32(h, 16, dst);
  h.set(opts, 20);
  wr16(h, 10, ip.checksum ?? internetChecksum(h, 0, h.length));
  fillTransportChecksum(t, pseudoSumV4(src, dst, t.proto, t.bytes.length));
  return concat([h, t.bytes]);
}

const EXT_PROTO = { hbh: IPPROTO_HOPOPTS, dst: IPPROTO_DSTOPTS, routing: IPPROTO_ROUTING, frag: IPPROTO_FRAGMENT, ah: IPPROTO_AH };

function buildIPv6(d: FrameDesc, ip: Ipv6Desc): Uint8Array {
  const t = buildTransport(d, true);
  const exts = ip.ext ?? [];
  const last = ip.nh ?? (t.proto >= 0 ? t.proto : IPPROTO_NONE);
  let finalDst = ip6FromString(ip.dst);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < exts.length; i++) {
    const e = exts[i]!;
    const nh = i + 1 < exts.length ? EXT_PROTO[exts[i + 1]!.type] : last;
    let body: Uint8Array;
    if (e.type === 'hbh' || e.type === 'dst') {
      const opts = padOptions6(e.options !== undefined ? hexToBytes(e.options) : new Uint8Array(0));
      body = concat([new Uint8Array([nh, (2 + opts.length) / 8 - 1]), opts]);
    } else if (e.type === 'routing') {
      const addrs = (e.addresses ?? []).map(ip6FromString);
      const segLeft = e.segLeft ?? addrs.length;
      body = new Uint8Array(8 + 16 * addrs.length);
      body[0] = nh;
      body[1] = 2 * addrs.length;
      body[2] = e.routingType ?? 0;
      body[3] = segLeft;
      addrs.forEach((a, k) => body.set(a, 8 + 16 * k));
      // RFC 8200 8.1: the pseudo-header uses the final destination.
      if (segLeft > 0 && addrs.length > 0) finalDst = addrs[addrs.length - 1]!;
    } else if (e.type === 'frag') {
      const fo = e.fragOffset ?? 0;
      if (fo % 8 !== 0) bad('IPv6 fragment offset must be a multiple of 8');
      body = new Uint8Array(8);
      body[0] = nh;
      wr16(body, 2, fo | (e.m ? 1 : 0));
      wr32(body, 4, e.id ?? 0);
    } else {
      const icv = e.icv !== undefined ? hexToBytes(e.icv) : new Uint8Array(0);
      if (icv.length % 4 !== 0) bad('AH ICV length must be a multiple of 4');
      body = new Uint8Array(12 + icv.length);
      body[0] = nh;
      body[1] = (12 + icv.length) / 4 - 2;
      wr32(body, 4, e.spi ?? 0);
      wr32(body, 8, e.seq ?? 0);
      body.set(icv, 12);
    }
    parts.push(body);
  }
  const ext = concat(parts);
  const h = new Uint8Array(40);
  const tc = ip.tc ?? 0;
  const fl = ip.fl ?? 0;
  wr32(h, 0, (6 << 28) | (tc << 20) | (fl & 0xfffff));
  wr16(h, 4, ip.plen ?? ext.length + t.bytes.length);
  h[6] = exts.length > 0 ? EXT_PROTO[exts[0]!.type] : last;
  h[7] = ip.hlim ?? 64;
  h.set(ip6FromString(ip.src), 8);
  h.set(ip6FromString(ip.dst), 24);
  const len = t.bytes.length;
  const pseudo = sumAddr6(h, 8) + sumAddr6(finalDst, 0) + t.proto + (len >>> 16) + (len & 0xffff);
  fillTransportChecksum(t, pseudo);
  return concat([h, ext, t.bytes]);
}

function buildArp(d: FrameDesc, a: ArpDesc): Uint8Array {
  const b = new Uint8Array(28);
  wr16(b, 0, 1);
  wr16(b, 2, ETH_P_IPV4);
  b[4] = 6;
  b[5] = 4;
  wr16(b, 6, a.op ?? 1);
  b.set(macFromString(a.sha ?? d.eth?.src ?? '02:00:00:00:00:01'), 8);
  wr32(b, 14, ip4FromString(a.spa));
  b.set(macFromString(a.tha ?? '00:00:00:00:00:00'), 18);
  wr32(b, 24, ip4FromString(a.tpa));
  return b;
}

/** Build a frame (or, without `eth`, a bare IP packet) from a description. */
export function buildFrame(d: FrameDesc): Uint8Array {
  const l3count = [d.arp, d.ipv4, d.ipv6].filter((x) => x !== undefined).length;
  if (l3count > 1) bad('more than one network layer');
  let l3: Uint8Array;
  let et: number;
  if (d.ipv4) {
    l3 = buildIPv4(d, d.ipv4);
    et = ETH_P_IPV4;
  } else if (d.ipv6) {
    l3 = buildIPv6(d, d.ipv6);
    et = ETH_P_IPV6;
  } else if (d.arp) {
    l3 = buildArp(d, d.arp);
    et = ETH_P_ARP;
  } else {
    l3 = d.payload !== undefined ? hexToBytes(d.payload) : new Uint8Array(0);
    et = 0;
  }
  let frame = l3;
  if (d.eth) {
    const e = d.eth;
    const vl = e.vlans ?? [];
    const h = new Uint8Array(14 + 4 * vl.length);
    h.set(macFromString(e.dst ?? '02:00:00:00:00:02'), 0);
    h.set(macFromString(e.src ?? '02:00:00:00:00:01'), 6);
    let o = 12;
    for (const v of vl) {
      wr16(h, o, v.tpid ?? ETH_P_8021Q);
      wr16(h, o + 2, ((v.pcp ?? 0) << 13) | ((v.dei ?? 0) << 12) | (v.vid & 0xfff));
      o += 4;
    }
    wr16(h, o, e.type ?? et);
    frame = concat([h, l3]);
  } else if (d.arp) {
    bad('ARP needs an eth layer');
  }
  if (d.padTo !== undefined && frame.length < d.padTo) frame = concat([frame, new Uint8Array(d.padTo - frame.length)]);
  return frame;
}
