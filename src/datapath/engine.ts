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
import { getScheduler, SchedFlow, SchedService, setLblcExpiration, setLblcrExpiration } from '../schedulers/index.js';
import { CONN_F_FWD_MASK, CONN_F_NOOUTPUT, ConnectionTable } from '../tables/connection-table.js';
import { setThresholds, type DestCounters } from '../tables/dest-counters.js';
import { MarkClassifier } from '../tables/fwmark.js';
import { TemplateTable } from '../tables/template-table.js';
import { KeyIndex } from '../tables/key-index.js';
import type { NeighbourTable } from '../tables/neighbour.js';
import { DIR_INPUT, DIR_INPUT_ONLY, DIR_OUTPUT, nextTcpState, tcpEvent, TCP_CLOSE, TCP_FIN_WAIT, TCP_TIME_WAIT, UDP_STATE } from '../tables/tcp-states.js';
import { Link, type Port } from './link.js';
import { RouteTable } from './routes.js';
import { DEFAULT_SYSCTL, METHOD_DR, METHOD_NAT, METHOD_TUN, type DatapathSnapshot, type DatapathSysctl, type ServiceSnapshot } from './snapshot.js';
import { DEST, DEST_FIELDS, ENGINE, type StatsViews } from './stats.js';

const PACKET_HOST = 0;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;

/** One service as the hot path uses it; its SchedService lives on across generations. */
interface CompiledService {
  /** "6 vip:port" or "fwm mark": the identity a new generation is matched on. */
  key: string;
  svc: SchedService;
  /** Service port (0: every port) and firewall mark (0: an address service). */
  port: number;
  fwmark: number;
  /** Persistence timeout in ms (0: not persistent) and netmask. */
  persistMs: number;
  netmask: number;
}

export interface EngineOptions {
  /** Connection-table capacity of this worker. */
  connections?: number;
  /** Shared connection-table storage (so the control thread can list it); see ConnectionTable.bufferBytes. */
  connectionBuffer?: SharedArrayBuffer;
  /** The persistence templates shared by every worker (TemplateTable.create); a private one if absent. */
  templates?: SharedArrayBuffer;
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
  readonly templates: TemplateTable;
  private services: CompiledService[] = [];
  private serviceIndex = new KeyIndex([]);
  /** Firewall-mark services by mark, and the classifier that marks packets. */
  private fwmarkIndex = new KeyIndex([]);
  private marks = new MarkClassifier([]);
  /** Some address service has port 0 (every port): a second lookup is worth it. */
  private port0 = false;
  private sysctl: DatapathSysctl = DEFAULT_SYSCTL;
  private lastDefence = 0;
  private lastSweep = 0;
  private owned = new KeyIndex([]);
  private routes = new RouteTable([]);
  /** By stats slot: present in the current snapshot (else "not available"), its weight, its method. */
  private destAlive = new Uint8Array(0);
  private destWeight = new Int32Array(0);
  private destMethod = new Uint8Array(0);
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
    this.templates = new TemplateTable(options.templates ?? TemplateTable.sharedBuffer(4096), stats.counters);
    this.conns = new ConnectionTable(stats.counters, {
      capacity: options.connections ?? 262144,
      templates: this.templates,
      ...(options.connectionBuffer ? { buffer: options.connectionBuffer } : {}),
    });
  }

  /**
   * Compiles a new service-table generation; connections in flight are kept. A service
   * that stays keeps its scheduler state: its real-server list is edited as ipvsadm would
   * (removals, weight edits, additions at the head), so rr's cursor, wrr's weights and the
   * lblc/sh/dh/mh tables evolve as in IPVS.
   */
  apply(snapshot: DatapathSnapshot): void {
    const slots = this.destStats.length / DEST_FIELDS;
    const previous = new Map(this.services.map((c) => [c.key, c]));
    const services: CompiledService[] = [];
    const keys: [number, number, number][] = [];
    const marks: [number, number, number][] = [];
    const alive = new Uint8Array(slots);
    const weight = new Int32Array(slots);
    const method = new Uint8Array(slots);
    const counters = this.stats.counters;
    const sysctl = snapshot.sysctl ?? DEFAULT_SYSCTL;
    for (const s of snapshot.services) {
      const fwmark = s.fwmark ?? 0;
      const key = fwmark !== 0 ? `fwm ${fwmark}` : `${s.protocol} ${s.address}:${s.port}`;
      const old = previous.get(key);
      const svc = old ? editService(old.svc, s) : newService(s, counters);
      svc.flags = s.schedFlags ?? 0;
      if (s.scheduler === 'lblc') setLblcExpiration(svc, sysctl.lblcExpiration);
      if (s.scheduler === 'lblcr') setLblcrExpiration(svc, sysctl.lblcrExpiration);
      for (const d of s.dests) {
        alive[d.slot] = 1;
        weight[d.slot] = d.weight;
        method[d.slot] = d.method;
        if (counters.upper[d.slot] !== (d.upper ?? 0) || counters.lower[d.slot] !== (d.lower ?? 0)) setThresholds(counters, d.slot, d.upper ?? 0, d.lower ?? 0);
      }
      if (fwmark !== 0) marks.push([fwmark, 0, services.length]);
      else keys.push([s.address, (s.protocol << 16) | s.port, services.length]);
      services.push({
        key,
        svc,
        port: s.port,
        fwmark,
        persistMs: s.persistence ? s.persistence.timeout * 1000 : 0,
        netmask: s.persistence ? s.persistence.netmask >>> 0 : 0xffffffff,
      });
    }
    for (let slot = 0; slot < this.destAlive.length; slot++) {
      if (this.destAlive[slot] !== 1 || alive[slot] === 1) continue;
      // A removed real server: its templates never match again; with expire_nodest_conn
      // its connections go at once (recent kernels), else they live on, dropping packets.
      this.templates.invalidateDest(slot);
      if (sysctl.expireNodestConn !== 0) this.conns.expireDest(slot);
    }
    this.services = services;
    this.serviceIndex = new KeyIndex(keys);
    this.fwmarkIndex = new KeyIndex(marks);
    this.port0 = snapshot.services.some((s) => !s.fwmark && s.port === 0);
    this.marks = new MarkClassifier(snapshot.markRules ?? [], this.ports.map((p) => p.name));
    this.sysctl = sysctl;
    this.owned = new KeyIndex(snapshot.owned.map((a, i) => [a, 0, i] as [number, number, number]));
    this.routes = new RouteTable(snapshot.routes);
    this.destAlive = alive;
    this.destWeight = weight;
    this.destMethod = method;
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
    let s = this.serviceIndex.get(info.dst4, (proto << 16) | info.dstPort);
    if (s < 0 && this.port0) s = this.serviceIndex.get(info.dst4, proto << 16);
    if (this.marks.size !== 0) {
      // Firewall-mark services win over address services (connections.md §3.5).
      const mark = this.marks.classify(proto, info.src4, info.srcPort, info.dst4, info.dstPort, inPort);
      const f = mark === 0 ? -1 : this.fwmarkIndex.get(mark, 0);
      if (f >= 0) {
        // A rule may also match a NAT reply on its way to the client: IPVS never sees
        // those as new flows (they are forwarded, not delivered locally).
        if (s < 0 && this.conns.lookupIn(proto, info.src4, info.srcPort, info.dst4, info.dstPort, now) < 0) {
          const reply = this.conns.lookupOut(proto, info.dst4, info.dstPort, info.src4, info.srcPort, now);
          if (reply >= 0 && (this.conns.flags[reply]! & CONN_F_FWD_MASK) === METHOD_NAT) {
            this.outbound(reply, b, start, length, frameOffset, parseFlags, now);
            return;
          }
        }
        s = f;
      }
    }
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
    const t = this.conns;
    // Expiry: IPVS arms a timer per entry; we sweep the whole table every SWEEP_MS, a
    // slice per batch, so an entry goes at most that long after its time.
    const elapsed = now - this.lastSweep;
    if (elapsed > 0) {
      this.lastSweep = now;
      t.sweep(now, Math.ceil((t.capacity * Math.min(elapsed, SWEEP_MS)) / SWEEP_MS));
    }
    if (now - this.lastDefence >= 1000) {
      // The drop_entry defense runs once a second, as IPVS's defense timer does.
      this.lastDefence = now;
      if (this.sysctl.dropEntry !== 0) {
        t.defend(now, this.sysctl.dropEntry);
        if (t.dropEntry >= 2) this.templates.defend(this.templates.capacity >>> 5); // the defense is on: unassured idle templates go too
      }
      this.templates.sweep(now, this.templates.capacity);
    }
    const c = this.c;
    c[ENGINE.connections] = t.size;
    c[ENGINE.expired] = t.expired;
    c[ENGINE.evictedEmbryonic] = t.evictedEmbryonic;
    c[ENGINE.evictedIdle] = t.evictedIdle;
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
    const sysctl = this.sysctl;
    const proto = info.protocol;
    const tcp = proto === IPPROTO_TCP;
    const rst = tcp && (info.tcpFlags & TCP_RST) !== 0;
    const syn = tcp && (info.tcpFlags & (TCP_SYN | TCP_RST)) === TCP_SYN;
    let conn = t.lookupIn(proto, info.src4, info.srcPort, info.dst4, info.dstPort, now);
    if (conn >= 0) {
      const slot = t.dest[conn]!;
      // A SYN on an existing tuple may start a new connection (connections.md §6).
      if (syn && sysctl.expireNodestConn !== 0 && this.destWeight[slot]! <= 0) {
        t.remove(conn);
        conn = -1;
      } else if (syn && sysctl.connReuseMode !== 0 && t.control[conn]! < 0) {
        const st = t.state[conn]!;
        if (st === TCP_TIME_WAIT || st === TCP_CLOSE || ((sysctl.connReuseMode & 2) !== 0 && st === TCP_FIN_WAIT && (t.flags[conn]! & CONN_F_NOOUTPUT) !== 0)) {
          t.remove(conn);
          conn = -1;
        }
      }
      if (conn >= 0 && this.destAlive[slot] !== 1) {
        if (sysctl.expireNodestConn === 0) {
          c[ENGINE.noDest]++; // the server is gone: drop silently, the entry lives on
          return;
        }
        t.remove(conn); // expire it and treat the packet as new
        conn = -1;
      }
    }
    if (conn < 0) {
      if (tcp && !syn && (sysctl.sloppyTcp === 0 || rst)) {
        c[ENGINE.noConnection]++;
        return;
      }
      conn = this.newConnection(this.services[s]!, b, now);
      if (conn < 0) return;
    }
    const flags = t.flags[conn]!;
    if (tcp) t.setState(conn, nextTcpState((flags & CONN_F_NOOUTPUT) !== 0 ? DIR_INPUT_ONLY : DIR_INPUT, tcpEvent(info.tcpFlags), t.state[conn]!), now);
    else t.setState(conn, UDP_STATE, now);
    t.countIn(conn);
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

  /**
   * Places a new flow (ip_vs_schedule / ip_vs_sched_persist): through a valid persistence
   * template if the service is persistent, else by the scheduler; creates the entry.
   * Returns it, or -1 (no server: ICMP port unreachable sent; or a table full).
   */
  private newConnection(cs: CompiledService, b: Uint8Array, now: number): number {
    const info = this.info;
    const c = this.c;
    const svc = cs.svc;
    const proto = info.protocol;
    const flow = this.flow;
    flow.protocol = proto;
    flow.caddr = info.src4;
    flow.cport = info.srcPort;
    flow.vaddr = info.dst4;
    flow.vport = info.dstPort;
    flow.now = now;
    let pos: number;
    let control = -1;
    let dport: number;
    if (cs.persistMs === 0) {
      pos = svc.schedule(flow);
      if (pos >= 0) dport = svc.destPort[pos]! || info.dstPort;
    } else {
      // Template key (connections.md §7.1): the client's network, then the VIP and service
      // port; port-0 services key on the VIP with port 0, fwmark services on the mark.
      const tt = this.templates;
      const snet = (info.src4 & cs.netmask) >>> 0;
      const tproto = cs.fwmark !== 0 ? 0 : proto;
      const tvaddr = cs.fwmark !== 0 ? cs.fwmark : info.dst4;
      const tvport = cs.fwmark !== 0 ? 0 : cs.port;
      tt.lock();
      let i = tt.find(tproto, snet, tvaddr, tvport, now);
      pos = -1;
      if (i >= 0) {
        pos = svc.positionOf(tt.dest[i]!);
        if (pos < 0 || (this.sysctl.expireQuiescentTemplate !== 0 && svc.destWeight[pos]! <= 0)) {
          tt.invalidate(i);
          i = -1;
        }
      }
      if (i < 0) {
        pos = svc.schedule(flow);
        if (pos >= 0) i = tt.create(tproto, snet, tvaddr, tvport, svc.destAddr[pos]!, tvport === 0 ? 0 : svc.destPort[pos]!, svc.destSlot[pos]!, cs.persistMs, now);
      }
      if (i >= 0) tt.attach(i, now);
      tt.unlock();
      if (pos >= 0 && i < 0) {
        c[ENGINE.templatesFull]++;
        return -1;
      }
      control = i;
      const serverPort = pos >= 0 ? svc.destPort[pos]! : 0;
      dport = info.dstPort === cs.port && serverPort !== 0 ? serverPort : info.dstPort;
    }
    if (pos < 0) {
      // IPVS: no server available -> ICMP port unreachable to the client.
      c[ENGINE.noDest]++;
      this.icmpToSender(b, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, now);
      return -1;
    }
    const slot = svc.destSlot[pos]!;
    const method = this.destMethod[slot]!;
    const flags = method === METHOD_NAT ? method : method | CONN_F_NOOUTPUT;
    const conn = this.conns.insert(proto, info.src4, info.srcPort, info.dst4, info.dstPort, svc.destAddr[pos]!, dport!, flags, slot, now, control);
    if (conn < 0) {
      if (control >= 0) this.templates.release(control);
      c[ENGINE.tableFull]++;
      return -1;
    }
    c[ENGINE.newConnections]++;
    this.destStats[slot * DEST_FIELDS + DEST.conns]++;
    return conn;
  }

  private outbound(conn: number, b: Uint8Array, start: number, length: number, eth: number, parseFlags: number, now: number): void {
    const info = this.info;
    const t = this.conns;
    if (info.protocol === IPPROTO_TCP) t.setState(conn, nextTcpState(DIR_OUTPUT, tcpEvent(info.tcpFlags), t.state[conn]!), now);
    else t.udpReply(conn, now);
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

/** The whole connection table is swept for expired entries once per this period. */
const SWEEP_MS = 250;

const FIT_OK = 0;
const FIT_FRAGMENT = 1;
const FIT_DROPPED = -1;

/** A service's scheduler view, new: the real servers are added oldest first, as ipvsadm does. */
function newService(s: ServiceSnapshot, counters: DestCounters): SchedService {
  return new SchedService(getScheduler(s.scheduler), counters, { flags: s.schedFlags ?? 0, dests: s.dests });
}

/**
 * Brings a kept service's list to the snapshot's with ipvsadm's edits: removals, weight
 * edits, then additions (oldest first, each at the head). If the result is not the
 * snapshot's order (the config reordered servers), the service starts afresh.
 */
function editService(svc: SchedService, s: ServiceSnapshot): SchedService {
  if (svc.scheduler.name !== s.scheduler) svc.setScheduler(getScheduler(s.scheduler));
  const wanted = new Set(s.dests.map((d) => d.slot));
  for (let p = svc.destCount - 1; p >= 0; p--) if (!wanted.has(svc.destSlot[p]!)) svc.removeDest(p);
  for (const d of s.dests) {
    const p = svc.positionOf(d.slot);
    if (p >= 0 && svc.destWeight[p] !== d.weight) svc.editDest(p, d.weight);
  }
  for (let i = s.dests.length - 1; i >= 0; i--) if (svc.positionOf(s.dests[i]!.slot) < 0) svc.addDest(s.dests[i]!);
  const same = svc.destCount === s.dests.length && s.dests.every((d, p) => svc.destSlot[p] === d.slot);
  return same ? svc : newService(s, svc.counters);
}
