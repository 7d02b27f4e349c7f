// L3 router: routes IPv4 frames between interfaces through AF_PACKET rings, the way a
// plain router does (MAC rewrite, TTL decrement, neighbours found by ARP), while the
// director's kernel does not forward (ip_forward=0). It proves the frame-I/O path end to
// end (RX ring -> parse -> rewrite -> TX ring) and is the baseline the balancing datapath
// is measured against. GSO super-frames and partial checksums pass through untouched:
// the virtio_net_hdr is copied with the frame, and neither a MAC nor the TTL is covered by
// the transport checksum.
//
// Hot loop rules: one FrameInfo, typed-array route and neighbour tables, counters in a
// Float64Array; no allocation, closure or promise per frame; one TX kick per batch.

import { FrameSocket } from '../frameio/frame-socket.js';
import { interfaceInfo } from '../frameio/interface.js';
import { PollSet } from '../frameio/poll-set.js';
import { PACKET_HOST, TP_STATUS_CSUMNOTREADY, TX_GSO_FRAME_SIZE, VIRTIO_NET_HDR_F_NEEDS_CSUM } from '../frameio/constants.js';
import type { RxRing } from '../frameio/rx-ring.js';
import type { TxRing } from '../frameio/tx-ring.js';
import { ip4FromString, ip4ToString, macFromString } from '../packet/addr.js';
import { ARPOP_REPLY, ARPOP_REQUEST, ARP_LEN, ARP_SHA, writeArp } from '../packet/arp.js';
import { copyBytes } from '../packet/bytes.js';
import { ETH_HLEN, writeEthernetHeader } from '../packet/ethernet.js';
import { parseFrame } from '../packet/frame.js';
import { FrameInfo, PARSE_CSUM_PARTIAL, PARSE_GSO } from '../packet/info.js';
import { ETH_P_ARP } from '../packet/protocols.js';
import { OK, REASON_NAMES } from '../packet/reasons.js';
import { decrementTtl, setEthDst, setEthSrc } from '../packet/rewrite.js';
import { NEIGH_INDEX_MASK, NEIGH_PROBE, NeighbourTable } from '../tables/neighbour.js';
import { parsePrefix, RouteTable, type RouteSpec } from './routes.js';
import { UvsError } from '../errors.js';

/** Forwarder counters: indexes into `counters`. */
export const FWD = {
  rxFrames: 0,
  txFrames: 1,
  /** Frames whose parse returned a reason (per reason in `dropsByReason`). */
  malformed: 2,
  arpSeen: 3,
  arpRequestsSent: 4,
  notForUs: 5,
  local: 6,
  notIPv4: 7,
  noRoute: 8,
  ttlExpired: 9,
  truncatedByRing: 10,
  txRingFull: 11,
  neighbourWait: 12,
  neighbourDrop: 13,
  tooBig: 14,
} as const;
const COUNTER_COUNT = 15;

const BROADCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const ZERO_MAC = new Uint8Array(6);

export interface RouterRoute {
  /** e.g. "198.19.0.0/24" */
  prefix: string;
  /** Next hop address; absent for an on-link route. */
  via?: string;
  /** Output interface (one of the router's). */
  dev: string;
}

export interface RouterOptions {
  interfaces: string[];
  /** Extra routes; the interfaces' own subnets are on-link routes automatically. */
  routes?: RouterRoute[];
  /** Frames per RX block poll timeout (ms) while idle. Default 100. */
  idleTimeoutMs?: number;
}

interface Port {
  name: string;
  socket: FrameSocket;
  rx: RxRing;
  tx: TxRing;
  mac: Uint8Array;
  mtu: number;
  /** First IPv4 address: the source of our ARP requests. */
  address: number;
}

export class Router {
  readonly counters = new Float64Array(COUNTER_COUNT);
  readonly dropsByReason = new Float64Array(REASON_NAMES.length);
  readonly neighbours = new NeighbourTable();
  private readonly ports: Port[];
  private readonly pollSet: PollSet;
  private readonly info = new FrameInfo();
  private readonly routes: RouteTable;
  private readonly localAddresses: Uint32Array;
  private readonly idleTimeoutMs: number;
  private stopped = false;

  constructor(options: RouterOptions) {
    if (options.interfaces.length < 2) throw new UvsError('UVS_ROUTER_CONFIG', 'forward needs at least two interfaces');
    this.idleTimeoutMs = options.idleTimeoutMs ?? 100;
    const routes: RouteSpec[] = [];
    const locals: number[] = [];
    this.ports = options.interfaces.map((name, index) => {
      const facts = interfaceInfo(name);
      const v4 = facts.ipv4;
      if (v4.length === 0) throw new UvsError('UVS_ROUTER_CONFIG', `interface ${name} has no IPv4 address to route from`);
      for (const a of v4) {
        locals.push(ip4FromString(a.address));
        const p = parsePrefix(`${a.address}/${a.prefixLength}`, name);
        routes.push({ ...p, port: index, gateway: 0 });
      }
      // vnetHdr keeps GSO super-frames whole and checksums partial, so TX slots must hold
      // a 64 KiB frame; without it the kernel would refuse frames above the MTU.
      const socket = FrameSocket.open(name, {
        vnetHdr: true,
        ignoreOutgoing: true,
        // Frames go straight to the driver: the router is the only sender that needs
        // the ring, and a qdisc would only add a lock and a queue per frame.
        qdiscBypass: true,
        rx: { blockSize: 1 << 20, blockCount: 8 },
        tx: { frameSize: TX_GSO_FRAME_SIZE, frameCount: 64 },
      });
      return {
        name,
        socket,
        rx: socket.rx!,
        tx: socket.tx!,
        mac: macFromString(facts.mac),
        mtu: facts.mtu,
        address: ip4FromString(v4[0]!.address),
      };
    });
    for (const r of options.routes ?? []) {
      const port = options.interfaces.indexOf(r.dev);
      if (port < 0) throw new UvsError('UVS_ROUTER_BAD_ROUTE', `route ${r.prefix}: dev ${r.dev} is not one of ${options.interfaces.join(', ')}`);
      routes.push({ ...parsePrefix(r.prefix, 'route'), port, gateway: r.via ? ip4FromString(r.via) : 0 });
    }
    this.routes = new RouteTable(routes);
    this.localAddresses = Uint32Array.from(locals);
    this.pollSet = new PollSet(this.ports.map((p) => p.socket));
  }

  /**
   * Runs one batch: waits up to timeoutMs for frames, forwards every ready block of every
   * interface, kicks each TX ring once. Returns the frames received.
   */
  runOnce(timeoutMs: number): number {
    const ports = this.ports;
    const mask = this.pollSet.wait(timeoutMs);
    if (mask === 0) return 0;
    const before = this.counters[FWD.rxFrames]!;
    const now = Date.now();
    for (let i = 0; i < ports.length; i++) {
      if ((mask & (1 << i)) === 0) continue;
      const rx = ports[i]!.rx;
      // Drain what is ready now, bounded so one busy interface cannot starve the others.
      for (let blocks = 0; blocks < rx.blockCount && rx.nextBlock() > 0; blocks++) {
        while (rx.nextFrame()) this.forwardFrame(rx, now);
        rx.releaseBlock();
      }
    }
    for (let i = 0; i < ports.length; i++) ports[i]!.tx.flush();
    return this.counters[FWD.rxFrames]! - before;
  }

  /** Forwards until stop() (checked between batches) or until `untilMs` (epoch ms) passes. */
  run(untilMs = Infinity): void {
    while (!this.stopped && Date.now() < untilMs) this.runOnce(this.idleTimeoutMs);
  }

  stop(): void {
    this.stopped = true;
  }

  close(): void {
    for (const p of this.ports) p.socket.close();
  }

  private forwardFrame(rx: RxRing, now: number): void {
    const c = this.counters;
    c[FWD.rxFrames]++;
    const b = rx.bytes;
    const info = this.info;
    if (rx.frameLength < rx.wireLength) {
      c[FWD.truncatedByRing]++;
      return;
    }
    let flags = 0;
    if (rx.vnetOffset >= 0) {
      if (rx.gsoType !== 0) flags |= PARSE_GSO;
      if ((rx.vnetFlags & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0) flags |= PARSE_CSUM_PARTIAL;
    } else if ((rx.status & TP_STATUS_CSUMNOTREADY) !== 0) flags |= PARSE_CSUM_PARTIAL;
    const reason = parseFrame(b, rx.frameOffset, rx.frameLength, info, flags);
    if (reason !== OK) {
      c[FWD.malformed]++;
      this.dropsByReason[reason]++;
      return;
    }
    if (info.etherType === ETH_P_ARP) {
      c[FWD.arpSeen]++;
      // Learn from replies and requests alike (RFC 826 merge), but only create entries we
      // asked for: the sender of a reply to our request is INCOMPLETE already.
      const entry = this.neighbours.learn(info.arpSenderIp, b, info.l3Offset + ARP_SHA, now, false);
      if (entry >= 0) this.sendHeld(entry);
      return;
    }
    if (info.ipVersion !== 4) {
      c[FWD.notIPv4]++;
      return;
    }
    if (rx.packetType !== PACKET_HOST) {
      c[FWD.notForUs]++;
      return;
    }
    const dst = info.dst4;
    const locals = this.localAddresses;
    for (let i = 0; i < locals.length; i++) {
      if (locals[i] === dst) {
        c[FWD.local]++; // the kernel's own traffic
        return;
      }
    }
    const route = this.routes.lookup(dst);
    if (route < 0) {
      c[FWD.noRoute]++;
      return;
    }
    if (decrementTtl(b, info) !== OK) {
      c[FWD.ttlExpired]++;
      return;
    }
    const out = this.ports[this.routes.port[route]!]!;
    // A non-GSO frame must fit the output MTU (PMTU/frag-needed belongs to the datapath issue).
    if ((flags & PARSE_GSO) === 0 && info.ipEnd - info.l3Offset > out.mtu) {
      c[FWD.tooBig]++;
      return;
    }
    const nextHop = this.routes.nextHop(route, dst);
    setEthSrc(b, info, out.mac, 0);
    const start = rx.vnetOffset >= 0 ? rx.vnetOffset : rx.frameOffset;
    const length = rx.frameOffset + rx.frameLength - start;
    const entry = this.neighbours.lookup(nextHop, now);
    if (entry < 0) {
      if (this.neighbours.needsRequest(nextHop, now)) this.sendArpRequest(out, nextHop);
      if (this.neighbours.hold(nextHop, b, start, length, this.routes.port[route]!)) c[FWD.neighbourWait]++;
      else c[FWD.neighbourDrop]++;
      return;
    }
    if ((entry & NEIGH_PROBE) !== 0) this.sendArpRequest(out, nextHop);
    setEthDst(b, info, this.neighbours.macs, (entry & NEIGH_INDEX_MASK) * 6);
    this.transmit(out, b, start, length);
  }

  /** Copies [start, start+length) (virtio header included when the ring has one) to out's TX ring. */
  private transmit(out: Port, src: Uint8Array, start: number, length: number): void {
    const tx = out.tx;
    let slot = tx.acquire();
    if (slot < 0) {
      tx.flush();
      slot = tx.acquire();
      if (slot < 0) {
        this.counters[FWD.txRingFull]++;
        return;
      }
    }
    const dst = tx.vnetOffset >= 0 ? tx.vnetOffset : slot;
    copyBytes(tx.bytes, dst, src, start, length);
    tx.commit(length - tx.vnetHdrLength);
    this.counters[FWD.txFrames]++;
  }

  private sendArpRequest(out: Port, target: number): void {
    const tx = out.tx;
    const slot = tx.acquire();
    if (slot < 0) {
      this.counters[FWD.txRingFull]++;
      return;
    }
    writeEthernetHeader(tx.bytes, slot, BROADCAST, 0, out.mac, 0, ETH_P_ARP);
    writeArp(tx.bytes, slot + ETH_HLEN, ARPOP_REQUEST, out.mac, 0, out.address, ZERO_MAC, 0, target);
    tx.commit(ETH_HLEN + ARP_LEN);
    this.counters[FWD.arpRequestsSent]++;
  }

  /** The neighbour behind `entry` just became known: send the frame that waited for it. */
  private sendHeld(entry: number): void {
    const n = this.neighbours;
    const slot = n.heldFrame(entry);
    if (slot < 0) return;
    const out = this.ports[n.holdTag[slot]!]!;
    const base = slot * n.holdSlotSize;
    const macOff = base + out.tx.vnetHdrLength; // the Ethernet header follows the virtio header
    copyBytes(n.holdBytes, macOff, n.macs, (entry & NEIGH_INDEX_MASK) * 6, 6);
    this.transmit(out, n.holdBytes, base, n.holdLength[slot]!);
    n.release(slot);
  }

  /** Counters by name, with non-zero drops by reason. */
  stats(): Record<string, number | Record<string, number>> {
    const out: Record<string, number | Record<string, number>> = {};
    for (const [name, index] of Object.entries(FWD)) out[name] = this.counters[index]!;
    const reasons: Record<string, number> = {};
    this.dropsByReason.forEach((n, r) => {
      if (n > 0) reasons[REASON_NAMES[r] ?? String(r)] = n;
    });
    out.dropsByReason = reasons;
    out.neighbourTableFull = this.neighbours.full;
    return out;
  }

  describe(): string {
    return this.ports.map((p) => `${p.name} ${ip4ToString(p.address)} mtu ${p.mtu}`).join('; ');
  }
}
