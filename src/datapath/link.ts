// Link layer of the datapath: sending a frame to an IPv4 next hop out of one of the
// director's interfaces — MAC addresses written, the neighbour found by ARP (one frame
// waits while it is being resolved), the frame copied into the interface's TX ring (with
// its virtio_net_hdr when the ring has one). Shared by the router and the balancing engine,
// so ARP and TX behave the same in both. No allocation per frame.

import { ARPOP_REPLY, ARPOP_REQUEST, ARP_LEN, writeArp } from '../packet/arp.js';
import { copyBytes } from '../packet/bytes.js';
import { copyMac, ETH_HLEN, writeEthernetHeader } from '../packet/ethernet.js';
import { ETH_P_ARP } from '../packet/protocols.js';
import { NEIGH_INDEX_MASK, NEIGH_PROBE, type NeighbourTable } from '../tables/neighbour.js';

/** The part of a TX ring the link layer uses (TxRing, or an in-memory ring in benchmarks). */
export interface TxSlots {
  readonly bytes: Uint8Array;
  readonly vnetHdrLength: number;
  readonly vnetOffset: number;
  readonly maxFrameLength: number;
  acquire(): number;
  commit(length: number): void;
  flush(): number;
}

/** One interface of the director as the datapath sees it. */
export interface Port {
  readonly name: string;
  readonly mac: Uint8Array;
  readonly mtu: number;
  /** Primary IPv4 address (uint32): the source of our ARP requests and tunnels. */
  readonly address: number;
  readonly tx: TxSlots;
}

/** Link counters: indexes into Link.counters. */
export const LINK = {
  txFrames: 0,
  txRingFull: 1,
  arpRequestsSent: 2,
  arpRepliesSent: 3,
  neighbourWait: 4,
  neighbourDrop: 5,
} as const;

const BROADCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const ZERO_MAC = new Uint8Array(6);

export class Link {
  readonly counters: Float64Array<ArrayBufferLike>;
  readonly ports: readonly Port[];
  readonly neighbours: NeighbourTable;

  constructor(ports: readonly Port[], neighbours: NeighbourTable, counters: Float64Array<ArrayBufferLike> = new Float64Array(6)) {
    this.counters = counters;
    this.ports = ports;
    this.neighbours = neighbours;
  }

  /**
   * Sends the frame at b[start, start+length) — `start` is its virtio header when the ring
   * has one, `eth` its Ethernet header — out of port `out` to nextHop (uint32). The MACs
   * are written in place; an unresolved neighbour gets an ARP request and keeps the frame.
   */
  send(out: number, b: Uint8Array, start: number, length: number, eth: number, nextHop: number, now: number): void {
    const port = this.ports[out]!;
    copyMac(b, eth + 6, port.mac, 0);
    const n = this.neighbours;
    const entry = n.lookup(nextHop, now);
    if (entry < 0) {
      if (n.needsRequest(nextHop, now)) this.arpRequest(port, nextHop);
      if (n.hold(nextHop, b, start, length, out)) this.counters[LINK.neighbourWait]++;
      else this.counters[LINK.neighbourDrop]++;
      return;
    }
    if ((entry & NEIGH_PROBE) !== 0) this.arpRequest(port, nextHop);
    copyMac(b, eth, n.macs, (entry & NEIGH_INDEX_MASK) * 6);
    this.transmit(port, b, start, length);
  }

  /** Copies [start, start+length) (virtio header included when the ring has one) into port's TX ring. */
  transmit(port: Port, src: Uint8Array, start: number, length: number): boolean {
    const slot = this.slot(port);
    if (slot < 0) return false;
    const tx = port.tx;
    copyBytes(tx.bytes, tx.vnetOffset >= 0 ? tx.vnetOffset : slot, src, start, length);
    tx.commit(length - tx.vnetHdrLength);
    this.counters[LINK.txFrames]++;
    return true;
  }

  /** Acquires a TX slot on port (flushing once if the ring is full); -1 counts a drop. */
  slot(port: Port): number {
    const tx = port.tx;
    let slot = tx.acquire();
    if (slot < 0) {
      tx.flush();
      slot = tx.acquire();
      if (slot < 0) this.counters[LINK.txRingFull]++;
    }
    return slot;
  }

  arpRequest(port: Port, target: number): void {
    const slot = this.slot(port);
    if (slot < 0) return;
    const tx = port.tx;
    writeEthernetHeader(tx.bytes, slot, BROADCAST, 0, port.mac, 0, ETH_P_ARP);
    writeArp(tx.bytes, slot + ETH_HLEN, ARPOP_REQUEST, port.mac, 0, port.address, ZERO_MAC, 0, target);
    tx.commit(ETH_HLEN + ARP_LEN);
    this.counters[LINK.arpRequestsSent]++;
  }

  /** Answers an ARP request for `ip` (an address we own) from requester mac/ip. */
  arpReply(port: Port, ip: number, requesterMac: Uint8Array, requesterMacOff: number, requesterIp: number): void {
    const slot = this.slot(port);
    if (slot < 0) return;
    const tx = port.tx;
    writeEthernetHeader(tx.bytes, slot, requesterMac, requesterMacOff, port.mac, 0, ETH_P_ARP);
    writeArp(tx.bytes, slot + ETH_HLEN, ARPOP_REPLY, port.mac, 0, ip, requesterMac, requesterMacOff, requesterIp);
    tx.commit(ETH_HLEN + ARP_LEN);
    this.counters[LINK.arpRepliesSent]++;
  }

  /** Sends the frames that waited for neighbours whose MAC is now known. */
  sendHeld(): void {
    const n = this.neighbours;
    for (let slot = n.nextReady(); slot >= 0; slot = n.nextReady()) {
      const port = this.ports[n.holdTag[slot]!]!;
      const base = slot * n.holdSlotSize;
      copyMac(n.holdBytes, base + port.tx.vnetHdrLength, n.macs, n.heldEntry(slot) * 6);
      this.transmit(port, n.holdBytes, base, n.holdLength[slot]!);
      n.release(slot);
    }
  }

  /** One kick per ring per batch. */
  flush(): void {
    for (let i = 0; i < this.ports.length; i++) this.ports[i]!.tx.flush();
  }
}
