// The builder against scapy: every fixture that carries a description is rebuilt here and
// must come out byte-identical to scapy's frame.
import t from 'tap';
import * as P from '../../src/packet/index.js';
import { UvsError } from '../../src/errors.js';
import { frames, hexDiff } from '../fixtures/packet/fixtures.js';

t.test('builder output equals scapy output for every described fixture', async (t) => {
  let n = 0;
  for (const c of frames()) {
    if (!c.desc) continue;
    n++;
    const got = P.bytesToHex(P.buildFrame(c.desc));
    t.equal(got, c.hex, `${c.name}: ${c.description} ${hexDiff(got, c.hex)}`);
  }
  t.ok(n >= 25, `${n} described fixtures`);
});

t.test('builder rejects impossible descriptions with UvsError', async (t) => {
  const bad = [
    { eth: {}, ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, ipv6: { src: '::1', dst: '::2' } },
    { eth: {}, ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: { sport: 1, dport: 2 }, udp: { sport: 1, dport: 2 } },
    { eth: {}, ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, icmpv6: { type: 128 } },
    { eth: {}, ipv4: { src: '1.1.1.1', dst: '2.2.2.2', fragOffset: 3 } },
    { eth: {}, ipv4: { src: '1.1.1.300', dst: '2.2.2.2' } },
    { arp: { spa: '1.1.1.1', tpa: '2.2.2.2' } },
  ] as P.FrameDesc[];
  for (const d of bad) t.throws(() => P.buildFrame(d), UvsError, JSON.stringify(d));
});

t.test('padTo pads with zeros only when short', async (t) => {
  const d: P.FrameDesc = { eth: {}, ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { sport: 1, dport: 2 }, padTo: 60 };
  const f = P.buildFrame(d);
  t.equal(f.length, 60);
  t.equal(P.buildFrame({ ...d, payload: '00'.repeat(100) }).length, 14 + 20 + 8 + 100);
});
