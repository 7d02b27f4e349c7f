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

import { PACKET_HOST } from '../frameio/constants.js';
import { PollSet } from '../frameio/poll-set.js';
import type { RxRing } from '../frameio/rx-ring.js';
import { ip4FromString, ip4ToString } from '../packet/addr.js';
import { ARP_SHA } from '../packet/arp.js';
import { parseFrame } from '../packet/frame.js';
import { FrameInfo, PARSE_GSO } from '../packet/info.js';
import { ETH_P_ARP } from '../packet/protocols.js';
import { OK, REASON_NAMES } from '../packet/reasons.js';
import { decrementTtl } from '../packet/rewrite.js';
import { NeighbourTable } from '../tables/neighbour.js';
import { UvsError } from '../errors.js';
import { LINK, Link } from './link.js';
import { openPort, rxParseFlags, type OpenPort } from './ports.js';
import { parsePrefix, RouteTable, type RouteSpec } from './routes.js';

/** Router counters: indexes into `counters` (the link layer's are in link.counters). */
export const FWD = {
  rxFrames: 0,
  /** Frames whose parse returned a reason (per reason in `dropsByReason`). */
  malformed: 1,
  arpSeen: 2,
  notForUs: 3,
  local: 4,
  notIPv4: 5,
  noRoute: 6,
  ttlExpired: 7,
  truncatedByRing: 8,
  tooBig: 9,
} as const;

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
  /** poll timeout (ms) while idle. Default 100. */
  idleTimeoutMs?: number;
}

export class Router {
  readonly counters = new Float64Array(Object.keys(FWD).length);
  readonly dropsByReason = new Float64Array(REASON_NAMES.length);
  readonly link: Link;
  private readonly ports: OpenPort[];
  private readonly rings: RxRing[];
  private readonly pollSet: PollSet;
  private readonly info = new FrameInfo();
  private readonly routes: RouteTable;
  private readonly localAddresses: Uint32Array;
  private readonly idleTimeoutMs: number;
  private stopped = false;

  constructor(options: RouterOptions) {
    if (options.interfaces.length < 2) throw new UvsError('UVS_ROUTER_CONFIG', 'router needs at least two interfaces');
    this.idleTimeoutMs = options.idleTimeoutMs ?? 100;
    this.ports = options.interfaces.map((name) => openPort(name));
    const routes: RouteSpec[] = [];
    const locals: number[] = [];
    this.ports.forEach((p, index) => {
      for (const a of p.ipv4) {
        locals.push(a.address);
        routes.push({ ...parsePrefix(`${ip4ToString(a.address)}/${a.prefixLength}`, p.name), port: index, gateway: 0 });
      }
    });
    for (const r of options.routes ?? []) {
      const port = options.interfaces.indexOf(r.dev);
      if (port < 0) throw new UvsError('UVS_ROUTER_BAD_ROUTE', `route ${r.prefix}: dev ${r.dev} is not one of ${options.interfaces.join(', ')}`);
      routes.push({ ...parsePrefix(r.prefix, 'route'), port, gateway: r.via ? ip4FromString(r.via) : 0 });
    }
    this.routes = new RouteTable(routes);
    this.localAddresses = Uint32Array.from(locals);
    this.link = new Link(this.ports, new NeighbourTable());
    this.rings = this.ports.map((p) => p.socket.rx!);
    this.pollSet = new PollSet(this.ports.map((p) => p.socket));
  }

  /**
   * Runs one batch: waits up to timeoutMs for frames, forwards every ready block of every
   * interface, kicks each TX ring once. Returns the frames received.
   */
  runOnce(timeoutMs: number): number {
    const mask = this.pollSet.wait(timeoutMs);
    if (mask === 0) return 0;
    const before = this.counters[FWD.rxFrames]!;
    const now = Date.now();
    for (let i = 0; i < this.rings.length; i++) {
      if ((mask & (1 << i)) === 0) continue;
      const rx = this.rings[i]!;
      // Drain what is ready now, bounded so one busy interface cannot starve the others.
      for (let blocks = 0; blocks < rx.blockCount && rx.nextBlock() > 0; blocks++) {
        while (rx.nextFrame()) this.forwardFrame(rx, now);
        rx.releaseBlock();
      }
    }
    this.link.flush();
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
    const b = rx.frameBytes;
    const info = this.info;
    if (rx.frameLength < rx.wireLength) {
      c[FWD.truncatedByRing]++;
      return;
    }
    const flags = rxParseFlags(rx);
    const reason = parseFrame(b, rx.frameOffset, rx.frameLength, info, flags);
    if (reason !== OK) {
      c[FWD.malformed]++;
      this.dropsByReason[reason]++;
      return;
    }
    if (info.etherType === ETH_P_ARP) {
      c[FWD.arpSeen]++;
      // Learn from replies and requests alike (RFC 826 merge), but only for neighbours we
      // asked about: the sender of a reply to our request is INCOMPLETE already.
      if (this.link.neighbours.learn(info.arpSenderIp, b, info.l3Offset + ARP_SHA, now, false) >= 0) this.link.sendHeld();
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
    const out = this.routes.port[route]!;
    // A non-GSO frame must fit the output MTU (PMTU/frag-needed belongs to the balancing datapath).
    if ((flags & PARSE_GSO) === 0 && info.ipEnd - info.l3Offset > this.ports[out]!.mtu) {
      c[FWD.tooBig]++;
      return;
    }
    const start = rx.vnetOffset >= 0 ? rx.vnetOffset : rx.frameOffset;
    this.link.send(out, b, start, rx.frameOffset + rx.frameLength - start, rx.frameOffset, this.routes.nextHop(route, dst), now);
  }

  /** Counters by name, with non-zero drops by reason. */
  stats(): Record<string, number | Record<string, number>> {
    const out: Record<string, number | Record<string, number>> = {};
    for (const [name, index] of Object.entries(FWD)) out[name] = this.counters[index]!;
    for (const [name, index] of Object.entries(LINK)) out[name] = this.link.counters[index]!;
    const reasons: Record<string, number> = {};
    this.dropsByReason.forEach((n, r) => {
      if (n > 0) reasons[REASON_NAMES[r] ?? String(r)] = n;
    });
    out.dropsByReason = reasons;
    out.neighbourTableFull = this.link.neighbours.full;
    return out;
  }

  describe(): string {
    return this.ports.map((p) => `${p.name} ${ip4ToString(p.address)} mtu ${p.mtu}`).join('; ');
  }
}
