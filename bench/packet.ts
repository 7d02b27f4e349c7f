// bench/packet: ns per packet for the packet library's hot path over a ring-sized batch of
// recorded frames, side by side with a plain copy of the same frames as a baseline.
// Numbers only: nothing here asserts a speed.
//
//   node dist/bench/packet.js [--frames 4096] [--rounds 15] [--size mixed|64|1500] [--only SUBSTR]
//
// The "ring" is one Uint8Array of 2 KiB slots (a TPACKET-like RX ring) holding a mix of
// flows: IPv4 TCP (70%), IPv4 UDP (20%), IPv6 TCP (10%), frame sizes 64-1500 bytes
// (or fixed). Each round walks the whole ring; the median round is reported.
//
// Rows:
//   copy (Buffer.copy)       baseline: copy each frame to a TX slot, nothing else
//   copy (copyWithin)        same, TypedArray.copyWithin
//   parse                    parseFrame into one FrameInfo
//   parse+verify-ipv4        parseFrame with PARSE_VERIFY_IPV4_CSUM
//   parse+lookup             + a connection-table lookup (open addressing, Int32Array)
//   parse+lookup+NAT         + DNAT: MACs, dst address+port (natIPv4Dst/natIPv6Dst), TTL
//   parse+lookup+NAT+copy    + copy to a TX slot (the whole forwarding step)
//   parse+IPIP encap         parse + encapsulate into a TX slot (same array)
//   full L4 checksum         internetChecksum over each transport segment (reference)

import { parseArgs } from 'node:util';
import * as P from '../src/packet/index.js';
import { median } from './tools/measure.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '4096' },
    rounds: { type: 'string', default: '15' },
    size: { type: 'string', default: 'mixed' },
    only: { type: 'string', default: '' },
  },
});
const N = Math.max(16, Math.min(65536, Number(values.frames)));
const ROUNDS = Math.max(3, Math.min(200, Number(values.rounds)));
const SLOT = 2048;

// --- recorded frames ---
let seed = 0x1234567;
const rnd = (): number => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
};
const frameSize = (): number => {
  if (values.size === '64') return 64;
  if (values.size === '1500') return 1514;
  const r = rnd() % 100;
  return r < 40 ? 64 + (rnd() % 64) : r < 70 ? 200 + (rnd() % 600) : 1514;
};

const ring = new Uint8Array(SLOT * N * 2); // RX slots, then TX slots: one array, as one mmap
const ringBuf = Buffer.from(ring.buffer, ring.byteOffset, ring.byteLength);
const lens = new Int32Array(N);
for (let i = 0; i < N; i++) {
  const kind = rnd() % 10;
  const size = frameSize();
  let d: P.FrameDesc;
  const sport = 1024 + (rnd() % 60000);
  if (kind < 7) {
    const hdr = 14 + 20 + 20;
    d = {
      eth: {},
      ipv4: { src: P.ip4ToString(0xc6336400 + (rnd() & 0xff)), dst: '192.0.2.10', ttl: 64, df: true },
      tcp: { sport, dport: 80, flags: 0x10 },
      payload: '00'.repeat(Math.max(0, size - hdr)),
    };
  } else if (kind < 9) {
    const hdr = 14 + 20 + 8;
    d = {
      eth: {},
      ipv4: { src: P.ip4ToString(0xcb007100 + (rnd() & 0xff)), dst: '192.0.2.10', ttl: 64 },
      udp: { sport, dport: 53 },
      payload: '00'.repeat(Math.max(0, size - hdr)),
    };
  } else {
    const hdr = 14 + 40 + 20;
    d = {
      eth: {},
      ipv6: { src: `2001:db8::${(rnd() & 0xffff).toString(16)}`, dst: '2001:db8::100' },
      tcp: { sport, dport: 443, flags: 0x10 },
      payload: '00'.repeat(Math.max(0, size - hdr)),
    };
  }
  const f = P.buildFrame(d);
  ring.set(f, i * SLOT);
  lens[i] = f.length;
}

// --- a connection table standing in for the datapath's: key (src, sport, dport) ---
const TABLE = 1 << 16; // slots, power of two
const tKey0 = new Int32Array(TABLE);
const tKey1 = new Int32Array(TABLE);
const tVal = new Int32Array(TABLE).fill(-1);
const backends4 = Int32Array.from([0x0a000005, 0x0a000006, 0x0a000007, 0x0a000008]);
const backend6 = P.ip6FromString('fd00::5');

function flowKey0(info: P.FrameInfo, b: Uint8Array): number {
  if (info.ipVersion === 4) return info.src4 | 0;
  // IPv6: fold the source address to 32 bits for the table (collisions resolved by key1).
  const o = info.srcAddrOffset;
  return (P.rd32s(b, o) ^ P.rd32s(b, o + 4) ^ P.rd32s(b, o + 8) ^ P.rd32s(b, o + 12)) | 0;
}
function slotOf(k0: number, k1: number): number {
  return (Math.imul(k0 ^ Math.imul(k1, 0x9e3779b1), 0x85ebca6b) >>> 16) & (TABLE - 1);
}
function lookup(k0: number, k1: number): number {
  let s = slotOf(k0, k1);
  for (;;) {
    const v = tVal[s]!;
    if (v === -1) return -1;
    if (tKey0[s] === k0 && tKey1[s] === k1) return v;
    s = (s + 1) & (TABLE - 1);
  }
}
function insert(k0: number, k1: number, v: number): void {
  let s = slotOf(k0, k1);
  while (tVal[s] !== -1 && !(tKey0[s] === k0 && tKey1[s] === k1)) s = (s + 1) & (TABLE - 1);
  tKey0[s] = k0;
  tKey1[s] = k1;
  tVal[s] = v;
}
{
  const info = new P.FrameInfo();
  for (let i = 0; i < N; i++) {
    P.parseFrame(ring, i * SLOT, lens[i]!, info);
    insert(flowKey0(info, ring), (info.srcPort << 16) | info.dstPort, i & 3);
  }
}

// --- the measured loops (each takes the whole ring once) ---
const info = new P.FrameInfo();
const macLb = P.macFromString('02:00:00:00:10:01');
const macRs = P.macFromString('02:00:00:00:20:01');
const txBase = SLOT * N;
const sink = new Float64Array(1);
const tun = new P.IpipTunnel();
tun.src = P.ip4FromString('192.0.2.100');
tun.dst = P.ip4FromString('10.0.0.5');

function copyBufferCopy(): void {
  for (let i = 0; i < N; i++) {
    const off = i * SLOT;
    ringBuf.copy(ringBuf, txBase + off, off, off + lens[i]!);
  }
}
function copyWithinLoop(): void {
  for (let i = 0; i < N; i++) {
    const off = i * SLOT;
    ring.copyWithin(txBase + off, off, off + lens[i]!);
  }
}
function parseOnly(): void {
  let acc = 0;
  for (let i = 0; i < N; i++) acc += P.parseFrame(ring, i * SLOT, lens[i]!, info) + info.dstPort;
  sink[0] = acc;
}
function parseVerify(): void {
  let acc = 0;
  for (let i = 0; i < N; i++) acc += P.parseFrame(ring, i * SLOT, lens[i]!, info, P.PARSE_VERIFY_IPV4_CSUM);
  sink[0] = acc;
}
function parseLookup(): void {
  let acc = 0;
  for (let i = 0; i < N; i++) {
    if (P.parseFrame(ring, i * SLOT, lens[i]!, info) !== P.OK) continue;
    acc += lookup(flowKey0(info, ring), (info.srcPort << 16) | info.dstPort);
  }
  sink[0] = acc;
}
function natOne(i: number): number {
  const off = i * SLOT;
  if (P.parseFrame(ring, off, lens[i]!, info) !== P.OK) return -1;
  // Key: source address, source port, service port (the frame's dport is rewritten to the
  // real server's port below, so later rounds key on the service port, not the frame's).
  const be = lookup(flowKey0(info, ring), (info.srcPort << 16) | (info.ipVersion === 4 ? (info.protocol === P.IPPROTO_TCP ? 80 : 53) : 443));
  if (be < 0) return -1;
  P.setEthAddrs(ring, info, macRs, 0, macLb, 0);
  // One-pass DNAT: address + port with one update of each checksum.
  if (info.ipVersion === 4) P.natIPv4Dst(ring, info, backends4[be]!, info.protocol === P.IPPROTO_TCP ? 8080 : 5353);
  else P.natIPv6Dst(ring, info, backend6, 0, 8443);
  P.decrementTtl(ring, info);
  // TTL would run out over many rounds: put it back (one byte + checksum, as a rewrite).
  if (info.ttl < 10) {
    ring[info.l3Offset + (info.ipVersion === 4 ? 8 : 7)] = 64;
    if (info.ipVersion === 4) P.fillIPv4HeaderChecksum(ring, info.l3Offset, info.ipHeaderLen);
  }
  return be;
}
function parseLookupNat(): void {
  let acc = 0;
  for (let i = 0; i < N; i++) acc += natOne(i);
  sink[0] = acc;
}
function parseLookupNatCopy(): void {
  let acc = 0;
  for (let i = 0; i < N; i++) {
    acc += natOne(i);
    const off = i * SLOT;
    ring.copyWithin(txBase + off, off, off + lens[i]!);
  }
  sink[0] = acc;
}
function parseEncap(): void {
  let acc = 0;
  for (let i = 0; i < N; i++) {
    const off = i * SLOT;
    if (P.parseFrame(ring, off, lens[i]!, info) !== P.OK || info.ipVersion !== 4) continue;
    acc += P.encapIpip(ring, info, ring, txBase + off, SLOT, tun);
  }
  sink[0] = acc;
}
function fullChecksum(): void {
  let acc = 0;
  for (let i = 0; i < N; i++) {
    if (P.parseFrame(ring, i * SLOT, lens[i]!, info) !== P.OK) continue;
    acc += P.internetChecksum(ring, info.l4Offset, info.ipEnd);
  }
  sink[0] = acc;
}

const rows: [string, () => void][] = [
  ['copy (Buffer.copy)', copyBufferCopy],
  ['copy (copyWithin)', copyWithinLoop],
  ['parse', parseOnly],
  ['parse+verify-ipv4', parseVerify],
  ['parse+lookup', parseLookup],
  ['parse+lookup+NAT', parseLookupNat],
  ['parse+lookup+NAT+copy', parseLookupNatCopy],
  ['parse+IPIP encap', parseEncap],
  ['full L4 checksum', fullChecksum],
];


let bytes = 0;
for (let i = 0; i < N; i++) bytes += lens[i]!;
console.log(`bench/packet: ${N} frames, ${values.size} sizes (mean ${(bytes / N).toFixed(0)} B), ${ROUNDS} rounds, node ${process.version}`);
console.log('row                        ns/packet (median)   min      Mpps (median)');
for (const [name, fn] of rows) {
  if (values.only && !name.includes(values.only)) continue;
  // Warm-up by time, not count: TurboFan compiles concurrently and small rings finish fast.
  const w0 = Date.now();
  while (Date.now() - w0 < 300) fn();
  const per: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    per.push(Number(process.hrtime.bigint() - t0) / N);
  }
  const med = median(per);
  const min = Math.min(...per);
  console.log(`${name.padEnd(26)} ${med.toFixed(1).padStart(10)}        ${min.toFixed(1).padStart(8)}   ${(1000 / med).toFixed(2).padStart(8)}`);
}
if (sink[0] === 12345.678) console.log('(sink)');
