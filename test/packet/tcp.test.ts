import t from 'tap';
import * as P from '../../src/packet/index.js';
import { bytes, diffFields, frames } from '../fixtures/packet/fixtures.js';

const info = new P.FrameInfo();
const parse = (b: Uint8Array, len = b.length): number => P.parseFrame(b, 0, len, info);

t.test('golden TCP frames', async (t) => {
  for (const c of frames().filter((x) => x.tags.includes('tcp') && x.reason === 'OK')) {
    const b = bytes(c.hex);
    t.equal(parse(b), P.OK, c.name);
    t.same(diffFields(info, c.expect!), [], c.description);
  }
  const syn = bytes(frames().find((x) => x.name === 'ipv4_tcp_syn')!.hex);
  parse(syn);
  t.equal(P.tcpSeq(syn, info), 0x01020304);
  t.equal(P.tcpAck(syn, info), 0);
  t.equal(P.tcpOptionsLen(info), 20);
  t.equal(P.tcpPayloadLen(info), 0);
  t.equal(info.tcpFlags, P.TCP_SYN);
  const data = bytes(frames().find((x) => x.name === 'ipv4_tcp_data')!.hex);
  parse(data);
  t.equal(P.tcpAck(data, info), 0xa0b0c0d0, 'uint32');
  t.equal(info.tcpFlags, P.TCP_PSH | P.TCP_ACKF);
  t.equal(P.tcpPayloadLen(info), 33);
});

t.test('data offset and truncation', async (t) => {
  const mk = (): Uint8Array => P.buildFrame({ eth: {}, ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: { sport: 1, dport: 2, options: '020405b4' } });
  const doff = 14 + 20 + 12;
  for (const [v, want] of [
    [0, P.BAD_TCP_DATA_OFFSET],
    [1, P.BAD_TCP_DATA_OFFSET],
    [4, P.BAD_TCP_DATA_OFFSET],
    [5, P.OK],
    [6, P.OK],
    [7, P.BAD_TCP_DATA_OFFSET],
    [15, P.BAD_TCP_DATA_OFFSET],
  ] as const) {
    const b = mk();
    b[doff] = (v << 4) | (b[doff]! & 15);
    t.equal(parse(b), want, `data offset ${v}`);
  }
  const b = mk();
  b[14 + 3] = 20 + 19; // IP total length: 19 bytes of TCP
  t.equal(parse(b), P.TRUNCATED_L4);
  const ae = P.buildFrame({ eth: {}, ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: { sport: 1, dport: 2, flags: 0x1c2 } });
  t.equal(parse(ae), P.OK);
  t.equal(info.tcpFlags, P.TCP_AE | P.TCP_CWR | P.TCP_ECE | P.TCP_SYN);
});
