import t from 'tap';
import * as P from '../../src/packet/index.js';
import { bytes, frames, hexDiff, rewrites, runRewrite } from '../fixtures/packet/fixtures.js';

t.test('virtio_net_hdr fields are little-endian', async (t) => {
  const raw = bytes('ff' + '0101' + '2200' + 'a805' + '2200' + '1000'.slice(0, 4));
  const b = new Uint8Array(12);
  b.set(bytes('01' + '01' + '4200' + 'a805' + '2200' + '1000'), 1);
  const h = new P.VnetHdr();
  t.equal(P.readVnetHdr(b, 1, h), P.OK);
  t.same({ ...h }, { flags: 1, gsoType: 1, hdrLen: 0x42, gsoSize: 1448, csumStart: 34, csumOffset: 16 });
  const w = new Uint8Array(10);
  t.equal(P.writeVnetHdr(w, 0, h), P.OK);
  t.equal(P.bytesToHex(w), '010142' + '00a805' + '2200' + '1000');
  t.equal(P.readVnetHdr(b, 3, h), P.TRUNCATED_VNET_HDR);
  t.equal(P.writeVnetHdr(w, 1, h), P.TRUNCATED_VNET_HDR);
  t.ok(raw.length > 0);
});

t.test('parse flags from the header', async (t) => {
  const h = new P.VnetHdr();
  t.equal(P.vnetParseFlags(h), 0);
  h.flags = P.VNET_HDR_F_NEEDS_CSUM;
  t.equal(P.vnetParseFlags(h), P.PARSE_CSUM_PARTIAL);
  h.gsoType = P.VNET_HDR_GSO_TCPV4 | P.VNET_HDR_GSO_ECN;
  t.equal(P.vnetParseFlags(h), P.PARSE_CSUM_PARTIAL | P.PARSE_GSO);
  h.flags = P.VNET_HDR_F_DATA_VALID;
  h.gsoType = P.VNET_HDR_GSO_ECN;
  t.equal(P.vnetParseFlags(h), 0, 'ECN bit alone is not GSO');
});

t.test('vnetCsumMatches / vnetSetPartial', async (t) => {
  const info = new P.FrameInfo();
  const b = bytes(frames().find((x) => x.name === 'vlan_ipv4_udp')!.hex);
  P.parseFrame(b, 0, b.length, info);
  const h = new P.VnetHdr();
  P.vnetSetPartial(h, info);
  t.same({ ...h }, { flags: 1, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 38, csumOffset: 6 });
  t.ok(P.vnetCsumMatches(h, info));
  h.csumOffset = 16;
  t.notOk(P.vnetCsumMatches(h, info));
});

t.test('completePartialChecksum against scapy', async (t) => {
  const cases = rewrites().filter((c) => c.ops.some((o) => o.op === 'completePartial'));
  t.ok(cases.length >= 7, `${cases.length} partial-checksum fixtures`);
  for (const c of cases) {
    const r = runRewrite(c);
    t.equal(r.hex, c.out, `${c.name}: ${c.description} ${hexDiff(r.hex, c.out)}`);
  }
});

t.test('completePartialChecksum bounds', async (t) => {
  const b = new Uint8Array(100);
  t.equal(P.completePartialChecksum(b, 0, 100, 98, 0), P.OK, 'field in the last two bytes');
  t.equal(P.completePartialChecksum(b, 0, 100, 98, 1), P.BAD_CSUM_OFFSETS);
  t.equal(P.completePartialChecksum(b, 0, 100, -1, 0), P.BAD_CSUM_OFFSETS);
  t.equal(P.completePartialChecksum(b, 10, 100, 0, 0), P.BAD_BOUNDS);
  const z = new Uint8Array(40);
  t.equal(P.completePartialChecksum(z, 0, 40, 20, 6), P.OK);
  t.equal((z[26]! << 8) | z[27]!, 0xffff, 'a zero result is stored as 0xffff');
});
