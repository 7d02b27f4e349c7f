// The balancing engine of one datapath worker: what IPVS does per packet (ip_vs_core.c
// ip_vs_in / ip_vs_out, ip_vs_xmit.c), over frames in an RX ring:
//   client -> VIP:port   service lookup, connection lookup (or schedule a real server and
//                        create the entry), state transition, then forward by the entry's
//                        method: NAT (rewrite destination), DR (rewrite the MAC only), TUN
//                        (IPIP-encapsulate to the real server);
//   real server -> client  (NAT) reply lookup, rewrite the source back to the VIP;
//   ICMP errors          about a balanced connection, translated like the packets they quote;
//   ARP                  answered for the floating addresses uvs owns, learnt for neighbours.
// Everything else is left to the kernel (counted as passed). Frames are rewritten in place
// in the RX ring and copied once into the TX ring by the link layer.
//
// Hot path: one FrameInfo, typed-array tables, counters in shared Float64Arrays, no
// allocation, closure or promise per frame. The service table is compiled from an
// immutable snapshot (snapshot.ts) between batches.

import { ARP_SHA, ARPOP_REQUEST } from '../packet/arp.js';
import { parseFrame } from '../packet/frame.js';
import { FRAG_NONE, FrameInfo, PARSE_CSUM_PARTIAL, PARSE_GSO } from '../packet/info.js';
import { encapIpip, IPIP_OVERHEAD, IpipTunnel } from '../packet/ipip.js';
import { Ipv4Fragmenter } from '../packet/fragment.js';
import { TcpSegmenter } from '../packet/gso.js';
import { ICMP_EXC_TTL, ICMP_PORT_UNREACH, writeIcmpError } from '../packet/icmp-error.js';
import { ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, ICMP_TIME_EXCEEDED } from '../packet/icmp.js';
import { readVnetHdr, VnetHdr } from '../packet/vnet.js';
import { ETH_P_ARP, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../packet/protocols.js';
import { OK } from '../packet/reasons.js';
import { decrementTtl, icmpInnerSetDstPort, icmpInnerSetIPv4Dst, icmpInnerSetIPv4Src, icmpInnerSetSrcPort, natIPv4Dst, natIPv4Src, setIPv4Dst, setIPv4Src } from '../packet/rewrite.js';
import { getScheduler, SchedFlow, SchedService } from '../schedulers/index.js';
import { CONN_F_FWD_MASK, CONN_F_NOOUTPUT, ConnectionTable } from '../tables/connection-table.js';
import { KeyIndex } from '../tables/key-index.js';
import type { NeighbourTable } from '../tables/neighbour.js';
import { DIR_INPUT, DIR_INPUT_ONLY, DIR_OUTPUT, nextTcpState, tcpEvent, TCP_CLOSE, TCP_TIME_WAIT, UDP_STATE } from '../tables/tcp-states.js';
import { Link, type Port } from './link.js';
import { RouteTable } from './routes.js';
import { METHOD_DR, METHOD_NAT, METHOD_TUN, type DatapathSnapshot } from './snapshot.js';
import { DEST, DEST_FIELDS, ENGINE, type StatsViews } from './stats.js';

const PACKET_HOST = 0;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;

/** One service compiled for the hot path. */
interface CompiledService {
  svc: SchedService;
  /** By position: real server address, port, method. */
  destAddr: Uint32Array;
  destPort: Uint16Array;
  destMethod: Uint8Array;
}

export interface EngineOptions {
  /** Connection-table capacity of this worker. */
  connections?: number;
}

export class Engine {
  readonly link: Link;
  readonly conns: ConnectionTable;
  readonly stats: StatsViews;
  generation = -1;
  private readonly ports: readonly Port[];
  private readonly info = new FrameInfo();
  private readonly flow = new SchedFlow();
  private readonly c: Float64Array;
  private readonly destStats: Float64Array;
  private services: CompiledService[] = [];
  private serviceIndex = new KeyIndex([]);
  private owned = new KeyIndex([]);
  private routes = new RouteTable([]);
  /** Slots of real servers present in the current snapshot (expire_nodest_conn=0: others' packets are dropped). */
  private destAlive = new Uint8Array(0);
  private readonly tunnel = new IpipTunnel();
  /** Scratch frame for what uvs builds (tunnel frames, ICMP errors): [virtio header][Ethernet]... */
  private readonly scratch = new Uint8Array(16 + 65536 + 64);
  /** Scratch for one segment or fragment on its way into a tunnel. */
  private readonly piece = new Uint8Array(16 + 65536 + 64);
  private readonly pieceInfo = new FrameInfo();
  private readonly vnet = new VnetHdr();
  private readonly segmenter = new TcpSegmenter();
  private readonly fragmenter = new Ipv4Fragmenter();
  private icmpId = 0;
  /** Offset of the current frame's virtio_net_hdr, -1 if it has none. */
  private rxVnet = -1;

  constructor(ports: readonly Port[], neighbours: NeighbourTable, stats: StatsViews, options: EngineOptions = {}) {
    this.ports = ports;
    this.stats = stats;
    this.c = stats.engine;
    this.destStats = stats.dest;
    this.link = new Link(ports, neighbours, stats.link);
    this.conns = new ConnectionTable(stats.counters, { capacity: options.connections ?? 262144 });
  }

  /** Compiles a new service-table generation; connections in flight are kept. */
  apply(snapshot: DatapathSnapshot): void {
    const services: CompiledService[] = [];
    const keys: [number, number, number][] = [];
    const alive = new Uint8Array(this.destStats.length / DEST_FIELDS);
    for (const s of snapshot.services) {
      const svc = new SchedService(getScheduler(s.scheduler), this.stats.counters, { dests: s.dests });
      for (const d of s.dests) alive[d.slot] = 1;
      keys.push([s.address, (s.protocol << 16) | s.port, services.length]);
      services.push({
        svc,
        destAddr: Uint32Array.from(s.dests, (d) => d.address),
        destPort: Uint16Array.from(s.dests, (d) => d.port),
        destMethod: Uint8Array.from(s.dests, (d) => d.method),
      });
    }
    this.services = services;
    this.serviceIndex = new KeyIndex(keys);
    this.owned = new KeyIndex(snapshot.owned.map((a, i) => [a, 0, i] as [number, number, number]));
    this.routes = new RouteTable(snapshot.routes);
    this.destAlive = alive;
    if (snapshot.timeouts) for (let s = 0; s < snapshot.timeouts.length; s++) this.conns.timeoutMs[s] = snapshot.timeouts[s]! * 1000;
    this.generation = snapshot.generation;
    this.c[ENGINE.snapshotsApplied]++;
  }

  /**
   * Handles one received frame: b[frameOffset, frameOffset+frameLength), its virtio header
   * at vnetOffset (-1 if none), the PARSE_* flags its header implies, and the sll packet type.
   */
  handle(b: Uint8Array, frameOffset: number, frameLength: number, vnetOffset: number, parseFlags: number, packetType: number, inPort: number, now: number): void {
    const c = this.c;
    const info = this.info;
    c[ENGINE.rxFrames]++;
    this.rxVnet = vnetOffset;
    const reason = parseFrame(b, frameOffset, frameLength, info, parseFlags);
    if (reason !== OK) {
      c[ENGINE.malformed]++;
      this.stats.reasons[reason]++;
      return;
    }
    if (info.etherType === ETH_P_ARP) {
      this.arp(b, inPort, now);
      return;
    }
    if (info.ipVersion !== 4) {
      c[ENGINE.notIPv4]++;
      return;
    }
    if (packetType !== PACKET_HOST) {
      c[ENGINE.notForUs]++;
      return;
    }
    const proto = info.protocol;
    if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) {
      if (proto === IPPROTO_ICMP && info.icmpError === 1) this.icmpError(b, frameOffset, frameLength, vnetOffset, now);
      else c[ENGINE.unknownProtocol]++;
      return;
    }
    if (info.fragment !== FRAG_NONE) {
      c[ENGINE.fragments]++; // the fanout reassembles; a stray fragment is left to the kernel
      return;
    }
    const start = vnetOffset >= 0 ? vnetOffset : frameOffset;
    const length = frameOffset + frameLength - start;
    const s = this.serviceIndex.get(info.dst4, (proto << 16) | info.dstPort);
    if (s >= 0) {
      this.inbound(s, b, start, length, frameOffset, parseFlags, now);
      return;
    }
    if (this.owned.get(info.dst4, 0) >= 0) {
      c[ENGINE.noService]++; // to a VIP, but no service on that port: IPVS leaves it to the local stack
      return;
    }
    const conn = this.conns.lookupOut(proto, info.dst4, info.dstPort, info.src4, info.srcPort, now);
    if (conn >= 0 && (this.conns.flags[conn]! & CONN_F_FWD_MASK) === METHOD_NAT) {
      this.outbound(conn, b, start, length, frameOffset, parseFlags, now);
      return;
    }
    c[ENGINE.passed]++;
  }

  /** Between batches: frames whose neighbour got resolved, one TX kick per ring, a little expiry. */
  afterBatch(now: number): void {
    this.link.sendHeld();
    this.link.flush();
    this.conns.sweep(now, 256);
  }

  private arp(b: Uint8Array, inPort: number, now: number): void {
    const info = this.info;
    this.c[ENGINE.arpSeen]++;
    const ours = this.owned.get(info.arpTargetIp, 0) >= 0;
    const sha = info.l3Offset + ARP_SHA;
    // As the kernel: a request for one of our addresses creates the sender's entry; any
    // other ARP only refreshes entries we already have or asked for.
    if (this.link.neighbours.learn(info.arpSenderIp, b, sha, now, ours && info.arpOp === ARPOP_REQUEST) >= 0) this.link.sendHeld();
    if (ours && info.arpOp === ARPOP_REQUEST && info.arpSenderIp !== 0) {
      this.link.arpReply(this.ports[inPort]!, info.arpTargetIp, b, sha, info.arpSenderIp);
    }
  }

  private inbound(s: number, b: Uint8Array, start: number, length: number, eth: number, parseFlags: number, now: number): void {
    const c = this.c;
    const info = this.info;
    const t = this.conns;
    const proto = info.protocol;
    const tcp = proto === IPPROTO_TCP;
    const syn = tcp && (info.tcpFlags & (TCP_SYN | TCP_RST)) === TCP_SYN;
    let conn = t.lookupIn(proto, info.src4, info.srcPort, info.dst4, info.dstPort, now);
    if (conn >= 0 && syn) {
      // conn_reuse_mode 1: a SYN on a closed-down entry starts a new connection.
      const st = t.state[conn]!;
      if (st === TCP_TIME_WAIT || st === TCP_CLOSE) {
        t.remove(conn);
        conn = -1;
      }
    }
    if (conn >= 0 && this.destAlive[t.dest[conn]!] !== 1) {
      c[ENGINE.noDest]++; // expire_nodest_conn=0: the server is gone, drop silently
      return;
    }
    if (conn < 0) {
      if (tcp && !syn) {
        c[ENGINE.noConnection]++;
        return;
      }
      const svc = this.services[s]!;
      const flow = this.flow;
      flow.protocol = proto;
      flow.caddr = info.src4;
      flow.cport = info.srcPort;
      flow.vaddr = info.dst4;
      flow.vport = info.dstPort;
      flow.now = now;
      const pos = svc.svc.schedule(flow);
      if (pos < 0) {
        // IPVS: no server available -> ICMP port unreachable to the client.
        c[ENGINE.noDest]++;
        this.icmpToSender(b, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, now);
        return;
      }
      const method = svc.destMethod[pos]!;
      const dport = svc.destPort[pos]! || info.dstPort;
      const slot = svc.svc.destSlot[pos]!;
      const flags = method === METHOD_NAT ? method : method | CONN_F_NOOUTPUT;
      conn = t.insert(proto, info.src4, info.srcPort, info.dst4, info.dstPort, svc.destAddr[pos]!, dport, flags, slot, now);
      if (conn < 0) {
        c[ENGINE.tableFull]++;
        return;
      }
      c[ENGINE.newConnections]++;
      this.destStats[slot * DEST_FIELDS + DEST.conns]++;
    }
    const flags = t.flags[conn]!;
    if (tcp) t.setState(conn, nextTcpState((flags & CONN_F_NOOUTPUT) !== 0 ? DIR_INPUT_ONLY : DIR_INPUT, tcpEvent(info.tcpFlags), t.state[conn]!), now);
    else t.setState(conn, UDP_STATE, now);
    const d = t.dest[conn]! * DEST_FIELDS;
    this.destStats[d + DEST.inPkts]++;
    this.destStats[d + DEST.inBytes] += info.ipEnd - info.l3Offset;

    const daddr = t.daddr[conn]!;
    const method = flags & CONN_F_FWD_MASK;
    const r = this.routes.lookup(daddr);
    if (r < 0) {
      c[ENGINE.noRoute]++;
      return;
    }
    const out = this.routes.port[r]!;
    // The MTU check comes before any rewrite, so an ICMP error quotes the packet as sent.
    const fit = this.fits(b, this.ports[out]!.mtu - (method === METHOD_TUN ? IPIP_OVERHEAD : 0), parseFlags, now);
    if (fit < 0) return;
    if (decrementTtl(b, info) !== OK) {
      this.ttlExpired(b, now);
      return;
    }
    if (method === METHOD_NAT) natIPv4Dst(b, info, daddr, t.dport[conn]!);
    if (method === METHOD_TUN) this.tunnelTo(daddr, r, b, parseFlags, fit, now);
    else if (fit === FIT_FRAGMENT) this.fragmentTo(r, daddr, b, now);
    else this.link.send(out, b, start, length, eth, this.routes.nextHop(r, daddr), now);
  }

  private outbound(conn: number, b: Uint8Array, start: number, length: number, eth: number, parseFlags: number, now: number): void {
    const info = this.info;
    const t = this.conns;
    if (info.protocol === IPPROTO_TCP) t.setState(conn, nextTcpState(DIR_OUTPUT, tcpEvent(info.tcpFlags), t.state[conn]!), now);
    else t.setState(conn, UDP_STATE, now);
    const d = t.dest[conn]! * DEST_FIELDS;
    this.destStats[d + DEST.outPkts]++;
    this.destStats[d + DEST.outBytes] += info.ipEnd - info.l3Offset;
    const r = this.routes.lookup(info.dst4);
    if (r < 0) {
      this.c[ENGINE.noRoute]++;
      return;
    }
    const out = this.routes.port[r]!;
    const fit = this.fits(b, this.ports[out]!.mtu, parseFlags, now);
    if (fit < 0) return;
    if (decrementTtl(b, info) !== OK) {
      this.ttlExpired(b, now);
      return;
    }
    natIPv4Src(b, info, t.vaddr[conn]!, t.vport[conn]!);
    if (fit === FIT_FRAGMENT) this.fragmentTo(r, info.dst4, b, now);
    else this.link.send(out, b, start, length, eth, this.routes.nextHop(r, info.dst4), now);
  }

  /**
   * ICMP errors about a balanced connection (connections.md §10). The quoted packet is the
   * reverse direction: an error travelling to a VIP quotes a reply (VIP -> client), one
   * from a real server quotes a request (client -> real server).
   */
  private icmpError(b: Uint8Array, frameOffset: number, frameLength: number, vnetOffset: number, now: number): void {
    const info = this.info;
    const c = this.c;
    const t = this.conns;
    const p = info.innerProtocol;
    if (info.innerReason !== OK || (p !== IPPROTO_TCP && p !== IPPROTO_UDP)) {
      c[ENGINE.icmpPassed]++;
      return;
    }
    const start = vnetOffset >= 0 ? vnetOffset : frameOffset;
    const length = frameOffset + frameLength - start;
    let conn = t.lookupIn(p, info.innerDst4, info.innerDstPort, info.innerSrc4, info.innerSrcPort, now);
    if (conn >= 0 && info.dst4 === t.vaddr[conn]) {
      if (decrementTtl(b, info) !== OK) {
        c[ENGINE.ttlExpired]++;
        return;
      }
      const daddr = t.daddr[conn]!;
      const method = t.flags[conn]! & CONN_F_FWD_MASK;
      c[ENGINE.icmpTranslated]++;
      if (method === METHOD_NAT) {
        // outer destination and the quoted source become the real server's
        setIPv4Dst(b, info, daddr);
        icmpInnerSetIPv4Src(b, info, daddr);
        icmpInnerSetSrcPort(b, info, t.dport[conn]!);
        this.route(daddr, b, start, length, frameOffset, 0, now);
      } else if (method === METHOD_DR) this.route(daddr, b, start, length, frameOffset, 0, now);
      else {
        const r = this.routes.lookup(daddr);
        if (r >= 0) this.tunnelTo(daddr, r, b, 0, FIT_OK, now);
        else c[ENGINE.noRoute]++;
      }
      return;
    }
    conn = t.lookupOut(p, info.innerSrc4, info.innerSrcPort, info.innerDst4, info.innerDstPort, now);
    if (conn >= 0 && (t.flags[conn]! & CONN_F_FWD_MASK) === METHOD_NAT) {
      if (decrementTtl(b, info) !== OK) {
        c[ENGINE.ttlExpired]++;
        return;
      }
      c[ENGINE.icmpTranslated]++;
      // outer source and the quoted destination become the VIP's
      setIPv4Src(b, info, t.vaddr[conn]!);
      icmpInnerSetIPv4Dst(b, info, t.vaddr[conn]!);
      icmpInnerSetDstPort(b, info, t.vport[conn]!);
      this.route(info.dst4, b, start, length, frameOffset, 0, now);
      return;
    }
    c[ENGINE.icmpPassed]++;
  }

  /** Routes the (rewritten) frame to dst: output port, next hop, MTU check, then the link layer. */
  private route(dst: number, b: Uint8Array, start: number, length: number, eth: number, parseFlags: number, now: number): void {
    const r = this.routes.lookup(dst);
    if (r < 0) {
      this.c[ENGINE.noRoute]++;
      return;
    }
    const out = this.routes.port[r]!;
    // GSO frames are judged by segment size, which the sender chose for this path's MTU.
    if ((parseFlags & PARSE_GSO) === 0 && this.info.ipEnd - this.info.l3Offset > this.ports[out]!.mtu) {
      this.c[ENGINE.tooBig]++;
      return;
    }
    this.link.send(out, b, start, length, eth, this.routes.nextHop(r, dst), now);
  }

  /**
   * Whether the current packet fits an output MTU: FIT_OK, FIT_FRAGMENT (too big, DF clear:
   * fragment it), or FIT_DROPPED (too big with DF: "fragmentation needed" went back to the
   * sender; or a GSO frame that cannot be cut). GSO frames are judged by their segment
   * size, as IPVS does.
   */
  private fits(b: Uint8Array, mtu: number, parseFlags: number, now: number): number {
    const info = this.info;
    let size = info.ipEnd - info.l3Offset;
    // The virtio header matters only for offloaded frames; read it once here (tunnelTo uses it too).
    if (parseFlags !== 0 && this.rxVnet >= 0) {
      readVnetHdr(b, this.rxVnet, this.vnet);
      if ((parseFlags & PARSE_GSO) !== 0) size = info.payloadOffset - info.l3Offset + this.vnet.gsoSize;
    }
    if (size <= mtu) return FIT_OK;
    this.c[ENGINE.tooBig]++;
    if (info.dontFragment !== 0) {
      this.icmpToSender(b, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu, now);
      return FIT_DROPPED;
    }
    if ((parseFlags & PARSE_GSO) !== 0) return FIT_DROPPED; // no DF on a TCP super-frame: not seen in practice
    return FIT_FRAGMENT;
  }

  /** TTL ran out: ICMP time exceeded to the sender, as a router (and IPVS) does. */
  private ttlExpired(b: Uint8Array, now: number): void {
    this.c[ENGINE.ttlExpired]++;
    this.icmpToSender(b, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0, now);
  }

  /**
   * Sends an ICMP error about the current packet to its source. The source address is the
   * packet's destination when uvs owns it (a VIP: what the client talked to), else our
   * address on the way back.
   */
  private icmpToSender(b: Uint8Array, type: number, code: number, rest: number, now: number): void {
    const info = this.info;
    const r = this.routes.lookup(info.src4);
    if (r < 0) return;
    const out = this.routes.port[r]!;
    const port = this.ports[out]!;
    const from = this.owned.get(info.dst4, 0) >= 0 ? info.dst4 : port.address;
    const vh = port.tx.vnetHdrLength;
    const s = this.scratch;
    s.fill(0, 0, vh);
    this.icmpId = (this.icmpId + 1) & 0xffff;
    const n = writeIcmpError(s, vh, s.length - vh, port.mac, 0, port.mac, 0, from, info.src4, this.icmpId, type, code, rest, b, info);
    if (n <= 0) return; // not for ICMP errors, fragments, broadcasts... (RFC 1812)
    this.c[ENGINE.icmpSent]++;
    this.link.send(out, s, 0, vh + n, vh, this.routes.nextHop(r, info.src4), now);
  }

  /** Sends the current (rewritten) packet through route r in fragments that fit its MTU. */
  private fragmentTo(r: number, dst: number, b: Uint8Array, now: number): void {
    const out = this.routes.port[r]!;
    const port = this.ports[out]!;
    const f = this.fragmenter;
    if (f.begin(b, this.info, port.mtu) !== OK) {
      this.c[ENGINE.tooBig]++;
      return;
    }
    const vh = port.tx.vnetHdrLength;
    const p = this.piece;
    const hop = this.routes.nextHop(r, dst);
    for (let n = f.next(p, vh, p.length - vh); n > 0; n = f.next(p, vh, p.length - vh)) {
      p.fill(0, 0, vh);
      this.c[ENGINE.fragmented]++;
      this.link.send(out, p, 0, vh + n, vh, hop, now);
    }
  }

  /**
   * IPIP-encapsulates the current packet to a real server through route r (outer source =
   * our address on that port). virtio cannot describe offloads inside a tunnel, so GSO
   * super-frames are cut into segments and partial checksums completed first; a packet
   * too big for the tunnel without DF is fragmented, then each piece encapsulated.
   */
  private tunnelTo(daddr: number, r: number, b: Uint8Array, parseFlags: number, fit: number, now: number): void {
    const info = this.info;
    const c = this.c;
    const out = this.routes.port[r]!;
    const port = this.ports[out]!;
    const t = this.tunnel;
    t.src = port.address;
    t.dst = daddr;
    t.mtu = port.mtu;
    const hop = this.routes.nextHop(r, daddr);
    if ((parseFlags & (PARSE_GSO | PARSE_CSUM_PARTIAL)) === 0 && fit === FIT_OK) {
      this.encapsulate(b, info, port, out, hop, now);
      return;
    }
    // Cut into pieces in `piece` (segments of a GSO frame, a copy with the checksum
    // completed, or fragments), parse each, and encapsulate it.
    const p = this.piece;
    const pi = this.pieceInfo;
    let status: number;
    let fragmenting = false;
    if (fit === FIT_FRAGMENT) {
      status = this.fragmenter.begin(b, info, port.mtu - IPIP_OVERHEAD);
      fragmenting = true;
    } else if (this.rxVnet >= 0) {
      status = this.segmenter.beginVnet(b, info, this.vnet); // read by fits()
    } else {
      status = this.segmenter.beginCopy(b, info, info.l4Offset - info.frameStart, info.l4CsumOffset - info.l4Offset);
    }
    if (status !== OK) {
      c[ENGINE.gsoDropped]++;
      return;
    }
    if ((parseFlags & PARSE_GSO) !== 0) c[ENGINE.segmented]++;
    for (;;) {
      const n = fragmenting ? this.fragmenter.next(p, 0, p.length) : this.segmenter.next(p, 0, p.length);
      if (n <= 0) break;
      if (parseFrame(p, 0, n, pi, 0) !== OK) {
        c[ENGINE.gsoDropped]++;
        continue;
      }
      if (fragmenting) c[ENGINE.fragmented]++;
      this.encapsulate(p, pi, port, out, hop, now);
    }
  }

  private encapsulate(src: Uint8Array, info: FrameInfo, port: Port, out: number, hop: number, now: number): void {
    const vh = port.tx.vnetHdrLength;
    const s = this.scratch;
    s.fill(0, 0, vh);
    const n = encapIpip(src, info, s, vh, s.length - vh, this.tunnel);
    if (n < 0) {
      this.c[ENGINE.tooBig]++;
      return;
    }
    this.c[ENGINE.tunnelled]++;
    this.link.send(out, s, 0, vh + n, vh, hop, now);
  }
}

const FIT_OK = 0;
const FIT_FRAGMENT = 1;
const FIT_DROPPED = -1;
