// DecapCore on plain buffers (no sockets): what is decapsulated, what is counted and
// dropped, the virtio_net_hdr written for the TUN device, ECN; plus the BPF filter source
// and the nftables text.
import t from 'tap';
import { assemble, decode } from '../../src/frameio/bpf.js';
import { HOST_LE } from '../../src/frameio/handle.js';
import { DECAP, DECAPSULATED, DROPPED, DecapCore, type FrameMeta } from '../../src/decap/core.js';
import { decapFilterSource, MAX_FILTER_ADDRESSES } from '../../src/decap/decapsulator.js';
import { nftTableText } from '../../src/decap/nft.js';
import { bytesToHex, hexToBytes, ip4FromString } from '../../src/packet/addr.js';
import { buildFrame, type FrameDesc } from '../../src/packet/builder.js';
import { fold, pseudoSumV4, verifyIPv4Header } from '../../src/packet/checksum.js';

const CLIENT = '198.18.0.10';
const VIP = '198.18.0.100';
const VIP6 = 'fd00:18::100';

function meta(over: Partial<FrameMeta> = {}): FrameMeta {
  return { wireLength: 0, csumPartial: false, csumStart: -1, csumOffset: 0, gsoType: 0, gsoSize: 0, hdrLen: 0, ...over };
}

/** Outer Ethernet + IPv4 around `inner` (a bare IP packet), at offset 100 of a larger buffer. */
function frame(inner: Uint8Array, opts: { proto?: number; tos?: number; checksum?: number; mf?: boolean; ethType?: number } = {}): { b: Uint8Array; off: number; len: number } {
  const f = buildFrame({
    eth: { src: '02:75:76:19:00:02', dst: '02:75:76:19:00:0b', ...(opts.ethType !== undefined ? { type: opts.ethType } : {}) },
    ipv4: { src: '198.19.0.2', dst: '198.19.0.11', proto: opts.proto ?? 4, tos: opts.tos ?? 0, ...(opts.checksum !== undefined ? { checksum: opts.checksum } : {}), ...(opts.mf ? { mf: true } : {}) },
    payload: bytesToHex(inner),
  });
  const b = new Uint8Array(f.length + 200);
  b.set(f, 100);
  return { b, off: 100, len: f.length };
}

const syn = (over: Partial<FrameDesc> = {}): Uint8Array => buildFrame({ ipv4: { src: CLIENT, dst: VIP }, tcp: { sport: 40000, dport: 9000 }, ...over });

function vnet(b: Uint8Array, h: number): { flags: number; gsoType: number; hdrLen: number; gsoSize: number; csumStart: number; csumOffset: number } {
  const v = new DataView(b.buffer, b.byteOffset);
  return {
    flags: b[h]!,
    gsoType: b[h + 1]!,
    hdrLen: v.getUint16(h + 2, HOST_LE),
    gsoSize: v.getUint16(h + 4, HOST_LE),
    csumStart: v.getUint16(h + 6, HOST_LE),
    csumOffset: v.getUint16(h + 8, HOST_LE),
  };
}

t.test('an IPIP packet for a VIP: the inner packet, preceded by a zero virtio_net_hdr, in place', async (t) => {
  const core = new DecapCore({ vips: [VIP] });
  const inner = syn();
  const { b, off, len } = frame(inner);
  t.equal(core.process(b, off, len, meta({ wireLength: len })), DECAPSULATED);
  t.equal(core.writeOffset, off + 14 + 20 - 10, 'vnet header in the last 10 bytes of the outer header');
  t.equal(core.writeLength, inner.length + 10);
  t.same(vnet(b, core.writeOffset), { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 });
  t.equal(bytesToHex(b, core.writeOffset + 10, core.writeOffset + core.writeLength), bytesToHex(inner), 'inner bytes untouched');
  core.wrote();
  const s = core.stats();
  t.equal(s.rxFrames, 1);
  t.equal(s.decapsulated, 1);
  t.equal(s.bytes, inner.length);
  t.same(s.badOuterReasons, {});
});

t.test('Ethernet padding is not written; no VIPs means any destination', async (t) => {
  const core = new DecapCore();
  const inner = syn({ ipv4: { src: CLIENT, dst: '10.1.2.3' } });
  const { b, off, len } = frame(inner);
  // pad the frame by 20 bytes (a short frame on the wire)
  t.equal(core.process(b, off, len + 20, meta({ wireLength: len + 20 })), DECAPSULATED);
  t.equal(core.writeLength, inner.length + 10);
});

t.test('not a tunnel packet, malformed outer or inner, not for a VIP: counted and dropped', async (t) => {
  const core = new DecapCore({ vips: [VIP, '198.18.0.101'] });
  const cases: [string, { b: Uint8Array; off: number; len: number }, keyof typeof DECAP, string?, ('outer' | 'inner')?][] = [
    ['ARP frame', (() => {
      const f = buildFrame({ eth: {}, arp: { spa: '198.19.0.2', tpa: '198.19.0.11' } });
      return { b: f, off: 0, len: f.length };
    })(), 'notIpip'],
    ['plain TCP to the server', (() => {
      const f = buildFrame({ eth: {}, ipv4: { src: CLIENT, dst: '198.19.0.11' }, tcp: { sport: 1, dport: 2 } });
      return { b: f, off: 0, len: f.length };
    })(), 'notIpip'],
    ['protocol 4 carrying garbage', frame(hexToBytes('00'.repeat(40))), 'notIpip'],
    ['protocol 4 carrying IPv6', frame(buildFrame({ ipv6: { src: 'fd00:18::10', dst: VIP6 }, tcp: { sport: 1, dport: 9000 } })), 'notIpip'],
    ['protocol 41 without --6in4', frame(buildFrame({ ipv6: { src: 'fd00:18::10', dst: VIP6 }, tcp: { sport: 1, dport: 9000 } }), { proto: 41 }), 'notIpip'],
    ['bad outer header checksum', frame(syn(), { checksum: 0x1234 }), 'badOuter', 'BAD_IPV4_CHECKSUM', 'outer'],
    ['outer fragment', frame(syn(), { mf: true }), 'outerFragments'],
    ['bad inner header checksum', frame(syn({ ipv4: { src: CLIENT, dst: VIP, checksum: 0x4321 } })), 'badInner', 'BAD_IPV4_CHECKSUM', 'inner'],
    ['truncated inner header', frame(syn().subarray(0, 12)), 'badInner', 'TRUNCATED_IPV4', 'inner'],
    ['inner TCP header cut short', frame(syn().subarray(0, 30)), 'badInner', 'IP_LENGTH_EXCEEDS_FRAME', 'inner'],
    ['not for a VIP', frame(syn({ ipv4: { src: CLIENT, dst: '198.18.0.99' } })), 'notForVip'],
  ];
  for (const [name, f, counter, reason, where] of cases) {
    const before = core.counters[DECAP[counter]]!;
    t.equal(core.process(f.b, f.off, f.len, meta({ wireLength: f.len })), DROPPED, `${name}: dropped`);
    t.equal(core.counters[DECAP[counter]], before + 1, `${name}: counted as ${counter}`);
    if (reason) t.ok((where === 'outer' ? core.stats().badOuterReasons : core.stats().badInnerReasons)[reason]! >= 1, `${name}: reason ${reason}`);
  }
  const s = core.stats();
  t.equal(s.rxFrames, cases.length);
  t.equal(s.decapsulated, 0);
  t.equal(s.notIpip + s.badOuter + s.outerFragments + s.badInner + s.notForVip, cases.length, 'every frame in exactly one counter');
});

t.test('a frame the ring truncated is dropped', async (t) => {
  const core = new DecapCore();
  const { b, off, len } = frame(syn());
  t.equal(core.process(b, off, len, meta({ wireLength: len + 100 })), DROPPED);
  t.equal(core.stats().truncated, 1);
});

t.test('6in4 with --6in4: IPv6 inner packets for an IPv6 VIP', async (t) => {
  t.throws(() => new DecapCore({ vips: [VIP6] }), { code: 'UVS_DECAP_BAD_OPTION' }, 'IPv6 VIP needs 6in4');
  t.throws(() => new DecapCore({ vips: ['nonsense'] }), { code: 'UVS_DECAP_BAD_OPTION' });
  const core = new DecapCore({ vips: [VIP, VIP6], sixInFour: true });
  const inner = buildFrame({ ipv6: { src: 'fd00:18::10', dst: VIP6 }, tcp: { sport: 40000, dport: 9000 } });
  const f = frame(inner, { proto: 41 });
  t.equal(core.process(f.b, f.off, f.len, meta({ wireLength: f.len })), DECAPSULATED);
  core.wrote();
  const other = frame(buildFrame({ ipv6: { src: 'fd00:18::10', dst: 'fd00:18::99' }, tcp: { sport: 40000, dport: 9000 } }), { proto: 41 });
  t.equal(core.process(other.b, other.off, other.len, meta({ wireLength: other.len })), DROPPED);
  const wrongVersion = frame(syn(), { proto: 41 });
  t.equal(core.process(wrongVersion.b, wrongVersion.off, wrongVersion.len, meta({ wireLength: wrongVersion.len })), DROPPED);
  const v4 = frame(syn());
  t.equal(core.process(v4.b, v4.off, v4.len, meta({ wireLength: v4.len })), DECAPSULATED);
  core.wrote();
  const s = core.stats();
  t.equal(s.decapsulated, 2);
  t.equal(s.decapsulated6, 1);
  t.equal(s.notForVip, 1);
  t.equal(s.notIpip, 1, 'IPv4 inside protocol 41 is not a 6in4 packet');
});

t.test('ECN (RFC 6040): outer CE marks an ECN-capable inner packet, drops a not-ECT one', async (t) => {
  const core = new DecapCore({ vips: [VIP, VIP6], sixInFour: true });
  const ect0 = frame(syn({ ipv4: { src: CLIENT, dst: VIP, tos: 0x02 | 0x28 } }), { tos: 0x03 });
  t.equal(core.process(ect0.b, ect0.off, ect0.len, meta({ wireLength: ect0.len })), DECAPSULATED);
  const l3 = ect0.off + 34;
  t.equal(ect0.b[l3 + 1], 0x2b, 'inner TOS: DSCP kept, ECN = CE');
  t.ok(verifyIPv4Header(ect0.b, l3, 20), 'inner header checksum updated');
  const notEct = frame(syn(), { tos: 0x03 });
  t.equal(core.process(notEct.b, notEct.off, notEct.len, meta({ wireLength: notEct.len })), DROPPED);
  t.equal(core.stats().ecnDrops, 1);
  const outerEct = frame(syn(), { tos: 0x02 });
  t.equal(core.process(outerEct.b, outerEct.off, outerEct.len, meta({ wireLength: outerEct.len })), DECAPSULATED);
  t.equal(outerEct.b[outerEct.off + 34 + 1], 0, 'outer ECT over not-ECT: inner unchanged');
  const v6 = frame(buildFrame({ ipv6: { src: 'fd00:18::10', dst: VIP6, tc: 0x01 }, tcp: { sport: 1, dport: 9000 } }), { proto: 41, tos: 0x03 });
  t.equal(core.process(v6.b, v6.off, v6.len, meta({ wireLength: v6.len })), DECAPSULATED);
  t.equal(((v6.b[v6.off + 34]! & 0x0f) << 4) | (v6.b[v6.off + 35]! >>> 4), 0x03, 'IPv6 traffic class ECN = CE');
});

t.test('offloads pass through: partial checksum and GSO metadata re-based on the inner packet', async (t) => {
  const core = new DecapCore({ vips: [VIP] });
  const partial = fold(pseudoSumV4(ip4FromString(CLIENT), ip4FromString(VIP), 6, 20));
  const f = frame(syn({ tcp: { sport: 40000, dport: 9000, checksum: partial } }));
  t.equal(core.process(f.b, f.off, f.len, meta({ wireLength: f.len, csumPartial: true, csumStart: 54, csumOffset: 16 })), DECAPSULATED);
  t.same(vnet(f.b, core.writeOffset), { flags: 1, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 20, csumOffset: 16 });

  const payload = 'ab'.repeat(3000);
  const big = frame(buildFrame({ ipv4: { src: CLIENT, dst: VIP }, tcp: { sport: 40000, dport: 9000, flags: 0x18 }, payload }));
  t.equal(core.process(big.b, big.off, big.len, meta({ wireLength: big.len, csumPartial: true, csumStart: 54, csumOffset: 16, gsoType: 1, gsoSize: 1448, hdrLen: 74 })), DECAPSULATED);
  t.same(vnet(big.b, core.writeOffset), { flags: 1, gsoType: 1, hdrLen: 40, gsoSize: 1448, csumStart: 20, csumOffset: 16 });

  const bad = frame(syn());
  t.equal(core.process(bad.b, bad.off, bad.len, meta({ wireLength: bad.len, csumPartial: true, csumStart: 20, csumOffset: 10 })), DROPPED, 'csum_start in the outer header');
  const missing = frame(syn());
  t.equal(core.process(missing.b, missing.off, missing.len, meta({ wireLength: missing.len, csumPartial: true })), DROPPED, 'partial without vnet metadata');
  t.equal(core.stats().badOffload, 2);
});

t.test('BPF filter source assembles; address list and 6in4 variants', async (t) => {
  const one = assemble(decapFilterSource(['198.19.0.11'], false));
  const insns = decode(one);
  t.ok(insns.some((i) => i.k === ip4FromString('198.19.0.11')), 'checks the local address');
  t.ok(insns.some((i) => i.k === 4), 'checks protocol 4');
  t.notOk(insns.some((i) => i.k === 41), 'not protocol 41');
  t.ok(decode(assemble(decapFilterSource(['198.19.0.11', '10.0.0.1'], true))).some((i) => i.k === 41), '6in4 adds protocol 41');
  const any = decode(assemble(decapFilterSource([], false)));
  t.ok(any.length < insns.length, 'no address check without addresses');
  const many = Array.from({ length: MAX_FILTER_ADDRESSES + 1 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
  t.equal(decode(assemble(decapFilterSource(many, false))).length, any.length, 'too many addresses: PACKET_HOST only');
  t.throws(() => decapFilterSource(['fd00::1'], false), { code: 'UVS_DECAP_BAD_OPTION' });
});

t.test('nftables table text', async (t) => {
  const text = nftTableText({ table: 'uvs_decap', ifname: 'eth0', protocols: [4], tun: 'uvsdecap0', owner: { pid: 42, startTime: 7 } });
  t.match(text, /^table ip uvs_decap \{/);
  t.match(text, /comment "uvs decap pid=42 start=7 if=eth0 tun=uvsdecap0"/);
  t.match(text, /type filter hook input priority filter - 10; policy accept;/);
  t.match(text, /iifname "eth0" ip protocol 4 counter drop/);
  t.match(nftTableText({ table: 'x', ifname: 'eth0', protocols: [4, 41], tun: 't', owner: { pid: 1, startTime: 1 } }), /ip protocol \{ 4, 41 \}/);
  t.throws(() => nftTableText({ table: 'bad-name', ifname: 'eth0', protocols: [4], tun: 't', owner: { pid: 1, startTime: 1 } }), { code: 'UVS_DECAP_BAD_OPTION' });
  t.throws(() => nftTableText({ table: 'x', ifname: 'a"b', protocols: [4], tun: 't', owner: { pid: 1, startTime: 1 } }), { code: 'UVS_DECAP_BAD_OPTION' });
});
