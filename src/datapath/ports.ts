// Opening the director's interfaces for the datapath: one AF_PACKET socket per interface
// with an RX ring and a TX ring big enough for GSO super-frames (the virtio_net_hdr keeps
// offloads intact, so frames up to 64 KiB arrive and leave whole).
//
// RX ring mode (docs/frame-io.md, docs/profile.md): TPACKET_V2 by default — 2 KiB slots, the
// worker woken per frame when idle and batching by itself under load; GSO super-frames
// (too big for a slot) are spilled whole to the socket and read from there. TPACKET_V3
// hands frames over a block at a time, and a partly filled block only when its retire
// timer fires: a jiffy (4 ms at HZ=250) of added latency per crossing under light load.
// UVS_RX_RING=v3 (and UVS_RX_RETIRE_MS) selects it, for comparison.

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
  /** TPACKET version of the rings: 2 (default) or 3; UVS_RX_RING=v2|v3 overrides the default. */
  rxVersion?: 2 | 3;
  /** V3 only: block retire timeout in ms (default 2; UVS_RX_RETIRE_MS). */
  retireTimeoutMs?: number;
  /** TX slots of 64 KiB. Default 64. */
  txFrames?: number;
}

/** V2 RX slot: a 1500-byte-MTU frame with its headers fits; bigger frames spill. */
const RX_SLOT_SIZE = 2048;

function envRxVersion(): 2 | 3 | undefined {
  const v = process.env.UVS_RX_RING;
  if (v === undefined || v === '') return undefined;
  if (v === 'v2' || v === '2') return 2;
  if (v === 'v3' || v === '3') return 3;
  throw new UvsError('UVS_DATAPATH_CONFIG', `UVS_RX_RING must be v2 or v3, got ${JSON.stringify(v)}`);
}

function envRetireMs(): number | undefined {
  const v = process.env.UVS_RX_RETIRE_MS;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new UvsError('UVS_DATAPATH_CONFIG', `UVS_RX_RETIRE_MS must be 1..1000, got ${JSON.stringify(v)}`);
  return n;
}

export function openPort(name: string, options: OpenPortOptions = {}): OpenPort {
  const rxVersion = options.rxVersion ?? envRxVersion() ?? 2;
  const facts = interfaceInfo(name);
  if (facts.ipv4.length === 0) throw new UvsError('UVS_DATAPATH_CONFIG', `interface ${name} has no IPv4 address (uvs's ARP requests and tunnels need one)`);
  const socket = FrameSocket.open(name, {
    vnetHdr: true,
    ignoreOutgoing: true,
    // Frames go straight to the driver: uvs is the only sender on these rings, and a qdisc
    // would add a lock and a queue per frame.
    qdiscBypass: true,
    rx: rxVersion === 2
      ? { version: 2, spill: true, blockSize: 1 << 20, blockCount: options.rxBlocks ?? 8, frameSize: RX_SLOT_SIZE }
      : { version: 3, blockSize: 1 << 20, blockCount: options.rxBlocks ?? 8, retireTimeoutMs: options.retireTimeoutMs ?? envRetireMs() ?? 2 },
    tx: { frameSize: TX_GSO_FRAME_SIZE, frameCount: options.txFrames ?? 64 },
    // Spilled GSO super-frames wait in the receive queue until read: room for a burst.
    ...(rxVersion === 2 ? { receiveBufferSize: 8 << 20 } : {}),
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
