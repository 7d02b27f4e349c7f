// Loader for the native frame-I/O shim (native/src/frameio.c, built by node-gyp into
// native/build/Release/uvs_frameio.node). The path is resolved from the package root, found
// by walking up from this file to the package.json named "uvs", so it works from src/ (ts
// runners) and from dist/src/ (compiled) alike. UVS_FRAMEIO_ADDON overrides the path.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UvsError } from '../errors.js';

/** Options understood by the native open(); every field is optional (see docs/frame-io.md). */
export interface NativeOpenOptions {
  protocol?: number;
  vnetHdr?: boolean;
  ignoreOutgoing?: boolean;
  qdiscBypass?: boolean;
  rxHash?: boolean;
  rxBlockSize?: number;
  /** 0 = no RX ring. */
  rxBlockCount?: number;
  rxFrameSize?: number;
  rxRetireTimeoutMs?: number;
  /** 3 (TPACKET_V3, default) or 2 (TPACKET_V2: fixed RX slots, a wakeup per frame). Both rings. */
  rxVersion?: number;
  /** V2: PACKET_COPY_THRESH, frames too big for a slot are also queued whole (recvSpill). */
  rxSpill?: boolean;
  txFrameSize?: number;
  /** 0 = no TX ring. */
  txFrameCount?: number;
  txBlockSize?: number;
  sendBufferSize?: number;
  receiveBufferSize?: number;
  /** Classic BPF socket filter attached before bind (2 words per instruction). */
  filter?: Uint32Array;
}

/** What the native open() returns: the socket, its rings and their actual geometry. */
export interface NativeSocket {
  fd: number;
  ifindex: number;
  ifname: string;
  protocol: number;
  vnetHdr: boolean;
  /** 10 with vnetHdr, else 0. */
  vnetHdrLength: number;
  /** 3 or 2: the TPACKET version of both rings. */
  tpVersion: number;
  rxSpill: boolean;
  /** TPACKET3_HDRLEN = 68 (tpacket3_hdr aligned to 48, plus sockaddr_ll); V2: 52. */
  tpHdrLen: number;
  /** Where the kernel takes TX frame data from, relative to a TX slot: tpHdrLen - 20 = 48 (V2: 32). */
  txDataOffset: number;
  rxRing: ArrayBuffer | null;
  rxBlockSize: number;
  rxBlockCount: number;
  rxFrameSize: number;
  rxFrameCount: number;
  rxRetireTimeoutMs: number;
  /** V2: slots per block. */
  rxFramesPerBlock: number;
  txRing: ArrayBuffer | null;
  txFrameSize: number;
  txFrameCount: number;
  txBlockSize: number;
  txBlockCount: number;
  txFramesPerBlock: number;
}

export interface NativeStats {
  packets: number;
  drops: number;
  freezeQueueCount: number;
}

export interface NativeInterfaceAddress {
  address: string;
  prefixLength: number;
  scopeId?: number;
}

export interface NativeInterfaceInfo {
  name: string;
  ifindex: number;
  mac: string;
  mtu: number;
  hardwareType: number;
  flags: number;
  up: boolean;
  running: boolean;
  ipv4: NativeInterfaceAddress[];
  ipv6: NativeInterfaceAddress[];
}

/** Byte offsets of the kernel structures, taken from the C headers at build time. */
export interface NativeLayout {
  blockStatus: number;
  blockNumPackets: number;
  blockFirstPacket: number;
  blockLength: number;
  blockSeq: number;
  nextOffset: number;
  sec: number;
  nsec: number;
  snaplen: number;
  len: number;
  status: number;
  mac: number;
  net: number;
  rxhash: number;
  vlanTci: number;
  vlanTpid: number;
  tpacket3HdrLen: number;
  sockaddrLlLen: number;
  sllProtocol: number;
  sllIfindex: number;
  sllPktType: number;
  vnetHdrLen: number;
  /** In a TPACKET_V2 layout (frame-socket.ts layoutFor): TPACKET_ALIGN(sizeof(tpacket2_hdr)). */
  tpacket2HdrLen?: number;
}

/** The frame fields of struct tpacket2_hdr, under NativeLayout's names. */
export type NativeLayoutV2 = Pick<NativeLayout, 'sec' | 'nsec' | 'snaplen' | 'len' | 'status' | 'mac' | 'net' | 'vlanTci' | 'vlanTpid'> & { tpacket2HdrLen: number };

export interface NativeBinding {
  open(ifname: string, options?: NativeOpenOptions): NativeSocket;
  /** true when closed, false when fd was not an open frame socket. */
  close(fd: number): boolean;
  /** poll(2) one fd; returns revents (0 on timeout or EINTR). */
  poll(fd: number, timeoutMs: number, events?: number): number;
  /** poll(2) up to 31 fds for input; returns a bitmask of the ready ones (bit i = fds[i]). */
  pollMany(fds: Int32Array, timeoutMs: number): number;
  /** Maps the rings of several open sockets side by side into one ArrayBuffer (see frame-socket.ts combineRings). */
  mapCombined(fds: Int32Array): { buffer: ArrayBuffer; offsets: Float64Array };
  /** Detaches a buffer from mapCombined (unmapped when collected). */
  releaseCombined(buffer: ArrayBuffer): void;
  /** send(fd, NULL, 0, MSG_DONTWAIT): bytes queued, or -EAGAIN/-ENOBUFS/-EINTR. */
  kick(fd: number): number;
  /** TPACKET_V2 + rxSpill: reads the next spilled frame into buffer; its full length, or -EAGAIN. */
  recvSpill(fd: number, buffer: Uint8Array): number;
  /** Joins a fanout group; returns the group id (chosen by the kernel with FLAG_UNIQUEID). */
  fanout(fd: number, groupId: number, mode: number, flags?: number, maxMembers?: number): number;
  setFanoutProgram(fd: number, program: Uint32Array): void;
  attachFilter(fd: number, program: Uint32Array): void;
  detachFilter(fd: number): void;
  stats(fd: number): NativeStats;
  interfaceInfo(ifname: string): NativeInterfaceInfo;
  sendGratuitousArp(
    ifname: string,
    ipv4: string,
    options?: { form?: 'request' | 'reply'; mac?: string; count?: number },
  ): number;
  layout: NativeLayout;
  layoutV2: NativeLayoutV2;
}

const ADDON = 'uvs_frameio.node';

function findPackageRoot(start: string): string | null {
  let dir = start;
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'uvs') return dir;
      } catch {
        // not ours; keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** Candidate paths for the addon, most specific first. */
export function addonCandidates(): string[] {
  const out: string[] = [];
  const override = process.env.UVS_FRAMEIO_ADDON;
  if (override) out.push(override);
  const root = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
  if (root) {
    out.push(join(root, 'native', 'build', 'Release', ADDON));
    out.push(join(root, 'native', 'build', 'Debug', ADDON));
  }
  return out;
}

let cached: NativeBinding | null = null;

/** Loads the addon once (per thread); throws UVS_FRAMEIO_NATIVE_MISSING if it is not built. */
export function loadNative(): NativeBinding {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const tried = addonCandidates();
  for (const path of tried) {
    if (!existsSync(path)) continue;
    try {
      cached = require(path) as NativeBinding;
      return cached;
    } catch (err) {
      throw new UvsError(
        'UVS_FRAMEIO_NATIVE_MISSING',
        `cannot load the frame-I/O addon ${path}: ${(err as Error).message}; ` +
          'rebuild it with `npx node-gyp rebuild --directory=native`',
        { cause: err },
      );
    }
  }
  throw new UvsError(
    'UVS_FRAMEIO_NATIVE_MISSING',
    `the frame-I/O addon is not built (looked for ${tried.join(', ') || ADDON}); ` +
      'build it with `npx node-gyp rebuild --directory=native` (npm ci does this)',
  );
}
