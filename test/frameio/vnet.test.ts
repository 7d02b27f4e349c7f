// PACKET_VNET_HDR on RX: real TCP traffic between two namespaces (offloads left on) shows up
// as GSO super-frames with a virtio_net_hdr and partial checksums.

import t from 'tap';
import { makePair, runChild } from './fixtures/netns.js';
import {
  PACKET_OUTGOING,
  TP_STATUS_CSUMNOTREADY,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_TCPV4,
} from '../../src/frameio/index.js';

interface Rec {
  len: number;
  snap: number;
  status: number;
  pkttype: number;
  sport: number;
  vnet: number[];
  tcpPayload?: number;
}

t.test('vnetHdr: TCP stream frames carry a virtio_net_hdr; GSO super-frames exceed the MTU', async (t) => {
  const p = makePair(t);
  const PORT = 5201;
  const BYTES = 4 * 1024 * 1024;
  const cap = runChild(t, p.a, 'collect', {
    ifname: p.ifA,
    open: { tx: false, vnetHdr: true, rx: { blockSize: 1 << 20, blockCount: 16 } },
    match: { tcpPort: PORT },
    timeoutMs: 15000,
  });
  const server = runChild(t, p.b, 'tcp-server', { host: p.ipB, port: PORT });
  await Promise.all([cap.ready, server.ready]);
  const client = runChild(t, p.a, 'tcp-client', { host: p.ipB, port: PORT, bytes: BYTES });
  const c = await client.result;
  const s = await server.result;
  t.notOk(c.crashed, 'client ran', c.crashed);
  t.equal(s.bytes, BYTES, 'server received the whole stream');
  cap.stop();
  const r = await cap.result;
  t.notOk(r.crashed, 'capture ran', r.crashed);

  const frames = r.frames as Rec[];
  const out = frames.filter((f) => f.pkttype === PACKET_OUTGOING && f.sport !== PORT);
  const gso = out.filter((f) => f.vnet[1] !== 0);
  t.ok(frames.every((f) => Array.isArray(f.vnet) && f.vnet.length === 6), 'every frame has a virtio_net_hdr');
  t.ok(gso.length > 0, `GSO super-frames seen (${gso.length} of ${out.length} client->server frames)`);
  t.ok(
    gso.every((f) => f.vnet[1] === VIRTIO_NET_HDR_GSO_TCPV4),
    'gso_type is TCPV4',
  );
  const maxLen = Math.max(...gso.map((f) => f.len));
  t.ok(maxLen > 1514, `largest super-frame ${maxLen} bytes > MTU frame size 1514`);
  t.ok(gso.every((f) => f.snap === f.len), 'super-frames captured whole (1 MiB blocks)');
  t.ok(
    gso.every((f) => f.vnet[3] > 0 && f.vnet[3] <= 1460 && f.vnet[2] >= 54 && f.len > f.vnet[2] + f.vnet[3]),
    'gso_size is an MSS, hdr_len covers the headers, payload spans several segments',
  );
  t.ok(
    gso.every(
      (f) =>
        f.vnet[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM &&
        f.vnet[4] === 34 &&
        f.vnet[5] === 16 &&
        f.status & TP_STATUS_CSUMNOTREADY,
    ),
    'partial checksum: NEEDS_CSUM, csum_start 34 (after IPv4 header), csum_offset 16, TP_STATUS_CSUMNOTREADY',
  );
  const small = out.filter((f) => f.vnet[1] === 0);
  t.ok(small.every((f) => f.vnet[3] === 0), 'non-GSO frames have gso_size 0');
  const payload = out.reduce((n, f) => n + (f.tcpPayload ?? 0), 0);
  t.ok(payload >= BYTES, `TCP payload seen on the wire (${payload}) covers the ${BYTES} bytes sent`);
  t.equal(r.stats.drops, 0, 'no ring drops');
});
