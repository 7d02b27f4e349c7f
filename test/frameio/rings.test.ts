// TX ring -> veth -> peer RX ring: count, content, batching; GSO transmission with vnetHdr.

import t from 'tap';
import { hex, payloadLength, tcpFrame, udpFrame, type UdpSpec } from './fixtures/frames.js';
import { makePair, runChild } from './fixtures/netns.js';
import { PACKET_OTHERHOST, TP_STATUS_CSUMNOTREADY, TX_GSO_FRAME_SIZE } from '../../src/frameio/index.js';

const OTHER_MAC = '02:00:00:00:00:99'; // nobody's: frames arrive as PACKET_OTHERHOST, no replies

t.test('TX ring frames arrive byte-identical on the peer RX ring, one kick per batch', async (t) => {
  const p = makePair(t);
  const N = 300;
  const BATCH = 64;
  const spec: UdpSpec = { srcMac: p.macA, dstMac: OTHER_MAC, srcIp: p.ipA, dstIp: p.ipB, sport: 40000, dport: 7000 };
  const rx = runChild(t, p.b, 'collect', {
    ifname: p.ifB,
    open: { tx: false },
    match: { udpDports: [7000] },
    expect: N,
    lingerMs: 300,
    maxHex: N,
    timeoutMs: 10000,
  });
  await rx.ready;
  const tx = runChild(t, p.a, 'send', { ifname: p.ifA, spec, count: N, batch: BATCH });
  const sent = await tx.result;
  const got = await rx.result;
  t.notOk(sent.crashed, 'sender ran', sent.crashed);
  t.notOk(got.crashed, 'receiver ran', got.crashed);

  // TX side: data offset, geometry, and exactly one send() per batch flushing the whole batch.
  t.equal(sent.geometry.dataOffset, 48, 'TX data offset is tp_hdrlen - sizeof(sockaddr_ll) = 48');
  t.equal(sent.protocol, 0, 'a TX-only socket binds protocol 0 (receives nothing)');
  t.equal(sent.kicks.length, Math.ceil(N / BATCH), 'one kick per batch');
  t.same(sent.kicks, sent.batchBytes, 'each kick queued exactly the bytes of its batch');
  t.equal(sent.midBatchFlushes, 0, 'no slot shortage forced an extra flush');

  // RX side: every frame once, byte for byte, nothing else.
  t.equal(got.frames.length, N, `received all ${N} frames`);
  t.equal(got.stats.drops, 0, 'no ring drops');
  const bySeq = new Map<number, { hex: string; len: number; snap: number; pkttype: number }>();
  for (const f of got.frames) bySeq.set(Buffer.from(f.hex, 'hex').readUInt32BE(42), f);
  t.equal(bySeq.size, N, 'no duplicates');
  let identical = 0;
  let lengthsOk = 0;
  for (let seq = 0; seq < N; seq++) {
    const want = udpFrame(seq, spec);
    const f = bySeq.get(seq);
    if (f && f.hex === hex(want)) identical++;
    if (f && f.len === want.length && f.snap === want.length && f.len === 42 + payloadLength(seq)) lengthsOk++;
  }
  t.equal(identical, N, 'all frames byte-identical');
  t.equal(lengthsOk, N, 'tp_len and tp_snaplen equal the sent length');
  t.ok(got.frames.every((f: { pkttype: number }) => f.pkttype === PACKET_OTHERHOST), 'frames seen as PACKET_OTHERHOST');
  t.ok(got.blocks >= 1, `delivered in ${got.blocks} block(s)`);
});

t.test('GSO TX: one 20000-byte TCP frame with a virtio_net_hdr crosses the veth unsegmented', async (t) => {
  const p = makePair(t);
  const spec = { srcMac: p.macA, dstMac: OTHER_MAC, srcIp: p.ipA, dstIp: p.ipB, sport: 33333, dport: 5555, seq: 1000 };
  const PAYLOAD = 20000;
  const MSS = 1448;
  const rx = runChild(t, p.b, 'collect', {
    ifname: p.ifB,
    open: { tx: false, vnetHdr: true },
    match: { tcpPort: 5555 },
    expect: 1,
    lingerMs: 300,
    maxHex: 100,
    timeoutMs: 8000,
  });
  await rx.ready;
  const tx = runChild(t, p.a, 'gso-send', { ifname: p.ifA, spec, payload: PAYLOAD, mss: MSS });
  const sent = await tx.result;
  const got = await rx.result;
  t.notOk(sent.crashed, 'sender ran', sent.crashed);
  t.notOk(got.crashed, 'receiver ran', got.crashed);
  const want = tcpFrame(spec, PAYLOAD);
  t.equal(sent.geometry.frameSize, TX_GSO_FRAME_SIZE, 'GSO slot size');
  t.ok(sent.geometry.maxFrameLength >= 65549, `slot holds a maximal GSO frame (${sent.geometry.maxFrameLength})`);
  t.equal(sent.kick, want.length, 'kick reports the Ethernet frame bytes (virtio_net_hdr excluded)');
  t.equal(got.frames.length, 1, 'the peer sees one super-frame');
  const f = got.frames[0];
  if (!f) return;
  t.equal(f.len, want.length, 'wire length is the whole super-frame');
  t.ok(f.len > 1514, 'larger than the MTU');
  t.same(f.vnet.slice(1, 4), [1, 54, MSS], 'gso_type TCPV4, hdr_len 54, gso_size = MSS');
  t.equal(f.vnet[0] & 1, 1, 'VIRTIO_NET_HDR_F_NEEDS_CSUM');
  t.same(f.vnet.slice(4), [34, 16], 'csum_start 34, csum_offset 16');
  t.ok(f.status & TP_STATUS_CSUMNOTREADY, 'TP_STATUS_CSUMNOTREADY');
  t.equal(f.hex, hex(want), 'bytes identical');
});

t.test('qdiscBypass TX (PACKET_QDISC_BYPASS) delivers too', async (t) => {
  const p = makePair(t);
  const N = 64;
  const spec: UdpSpec = { srcMac: p.macA, dstMac: OTHER_MAC, srcIp: p.ipA, dstIp: p.ipB, sport: 40001, dport: 7001 };
  const rx = runChild(t, p.b, 'collect', { ifname: p.ifB, open: { tx: false }, match: { udpDports: [7001] }, expect: N, lingerMs: 200, maxHex: N, timeoutMs: 8000 });
  await rx.ready;
  const sent = await runChild(t, p.a, 'send', { ifname: p.ifA, open: { qdiscBypass: true }, spec, count: N, batch: 32 }).result;
  const got = await rx.result;
  t.notOk(sent.crashed, 'sender ran', sent.crashed);
  t.same(sent.kicks, sent.batchBytes, 'each kick queued its batch');
  t.equal(got.frames.length, N, 'all frames arrived');
  t.ok(got.frames.every((f: { hex: string }) => {
    const b = Buffer.from(f.hex, 'hex');
    return f.hex === hex(udpFrame(b.readUInt32BE(42), spec));
  }), 'byte-identical');
});

t.test('RX ring in a worker thread (blocking poll off the main thread)', async (t) => {
  const p = makePair(t);
  const N = 50;
  const spec: UdpSpec = { srcMac: p.macA, dstMac: OTHER_MAC, srcIp: p.ipA, dstIp: p.ipB, sport: 40002, dport: 7002 };
  const rx = runChild(t, p.b, 'worker-collect', { ifname: p.ifB, open: { tx: false }, match: { udpDports: [7002] }, expect: N, lingerMs: 200, maxHex: N, timeoutMs: 8000 });
  await rx.ready;
  const sent = await runChild(t, p.a, 'send', { ifname: p.ifA, spec, count: N, batch: 25 }).result;
  const got = await rx.result;
  t.notOk(sent.crashed, 'sender ran', sent.crashed);
  t.notOk(got.crashed, 'receiver ran', got.crashed);
  t.not(got.threadId, got.mainThreadId, 'frames were read in a worker thread');
  t.equal(got.frames.length, N, 'all frames arrived');
  t.ok(got.frames.every((f: { hex: string }) => f.hex === hex(udpFrame(Buffer.from(f.hex, 'hex').readUInt32BE(42), spec))), 'byte-identical');
});
