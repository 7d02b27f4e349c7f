import t from 'tap';
import * as P from '../../src/packet/index.js';
import { bytes, frames } from '../fixtures/packet/fixtures.js';

t.test('SCTP ports; CRC is not incrementally updatable', async (t) => {
  const info = new P.FrameInfo();
  const b = bytes(frames().find((x) => x.name === 'ipv4_sctp')!.hex);
  t.equal(P.parseFrame(b, 0, b.length, info), P.OK);
  t.equal(info.srcPort, 2905);
  t.equal(info.l4CsumOffset, -1);
  t.equal(P.parseFrame(b, 0, 14 + 20 + 11, info), P.IP_LENGTH_EXCEEDS_FRAME);
  const short = b.slice(0, 14 + 20 + 11);
  short[17] = 20 + 11;
  P.fillIPv4HeaderChecksum(short, 14, 20);
  t.equal(P.parseFrame(short, 0, short.length, info), P.TRUNCATED_L4);
  // The scapy-built CRC32c is stored little-endian, as Linux does.
  const crc = P.crc32c(b.slice().fill(0, 42, 46), 34, b.length, 0);
  t.equal((b[42]! | (b[43]! << 8) | (b[44]! << 16) | (b[45]! << 24)) >>> 0, crc);
});
