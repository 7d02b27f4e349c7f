// Opening the director's interfaces for the datapath: one AF_PACKET socket per interface
// with an RX ring and a TX ring big enough for GSO super-frames (the virtio_net_hdr keeps
// offloads intact, so frames up to 64 KiB arrive and leave whole).

import { TP_STATUS_CSUMNOTREADY, TX_GSO_FRAME_SIZE, VIRTIO_NET_HDR_F_NEEDS_CSUM } from '../frameio/constants.js';
import type { RxRing } from '../frameio/rx-ring.js';
import { PARSE_CSUM_PARTIAL, PARSE_GSO } from '../packet/info.js';
import { FrameSocket } from '../frameio/frame-socket.js';
import { interfaceInfo } from '../frameio/interface.js';
import { UvsError } from '../errors.js';
import { ip4FromString, macFromString } from '../packet/addr.js';
import type { Port } from './link.js';

export interface OpenPort extends Port {
  readonly socket: FrameSocket;
  readonly ifindex: number;
  /** All IPv4 addresses of the interface with prefix lengths. */
  readonly ipv4: { address: number; prefixLength: number }[];
}

export interface OpenPortOptions {
  /** RX blocks of 1 MiB. Default 8. */
  rxBlocks?: number;
  /** TX slots of 64 KiB. Default 64. */
  txFrames?: number;
}

export function openPort(name: string, options: OpenPortOptions = {}): OpenPort {
  const facts = interfaceInfo(name);
  if (facts.ipv4.length === 0) throw new UvsError('UVS_DATAPATH_CONFIG', `interface ${name} has no IPv4 address (uvs's ARP requests and tunnels need one)`);
  const socket = FrameSocket.open(name, {
    vnetHdr: true,
    ignoreOutgoing: true,
    // Frames go straight to the driver: uvs is the only sender on these rings, and a qdisc
    // would add a lock and a queue per frame.
    qdiscBypass: true,
    rx: { blockSize: 1 << 20, blockCount: options.rxBlocks ?? 8 },
    tx: { frameSize: TX_GSO_FRAME_SIZE, frameCount: options.txFrames ?? 64 },
  });
  const ipv4 = facts.ipv4.map((a) => ({ address: ip4FromString(a.address), prefixLength: a.prefixLength }));
  return { name, socket, ifindex: facts.ifindex, mac: macFromString(facts.mac), mtu: facts.mtu, address: ipv4[0]!.address, ipv4, tx: socket.tx! };
}

/** The PARSE_* flags the current RX frame's virtio header (or ring status) implies. */
export function rxParseFlags(rx: RxRing): number {
  let flags = 0;
  if (rx.vnetOffset >= 0) {
    if (rx.gsoType !== 0) flags |= PARSE_GSO;
    if ((rx.vnetFlags & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0) flags |= PARSE_CSUM_PARTIAL;
  } else if ((rx.status & TP_STATUS_CSUMNOTREADY) !== 0) flags |= PARSE_CSUM_PARTIAL;
  return flags;
}
