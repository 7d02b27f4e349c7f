// A million random and mutated frames through one engine: it never throws, never stalls
// (a valid connection still goes through afterwards), and every frame is accounted for.
import t from 'tap';
import { buildFrame } from '../../src/packet/builder.js';
import { ENGINE } from '../../src/datapath/stats.js';
import { PARSE_CSUM_PARTIAL, PARSE_GSO } from '../../src/packet/info.js';
import { feed, LAB, makeEngine } from './fixtures/engine.js';

t.test('1,000,000 random and mutated frames', async (t) => {
  const e = makeEngine('nat', { connections: 262144 });
  let seed = 0x9e3779b9;
  const rand = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const seeds = [
    buildFrame({ eth: { src: LAB.clientMac, dst: LAB.dirPubMac }, ipv4: { src: LAB.client, dst: LAB.vip }, tcp: { sport: 40000, dport: 9000, flags: 2 } }),
    buildFrame({ eth: { src: LAB.clientMac, dst: LAB.dirPubMac }, ipv4: { src: LAB.client, dst: LAB.vip }, udp: { sport: 40000, dport: 9000 }, payload: '00112233' }),
    buildFrame({ eth: { src: LAB.serverMacs[0], dst: LAB.dirPrivMac }, ipv4: { src: LAB.servers[0], dst: LAB.client }, tcp: { sport: 9000, dport: 40000, flags: 0x12 } }),
    buildFrame({
      eth: { src: LAB.clientMac, dst: LAB.dirPubMac },
      ipv4: { src: LAB.client, dst: LAB.vip },
      icmp: { type: 3, code: 4, rest: 1400, quote: { ipv4: { src: LAB.vip, dst: LAB.client }, tcp: { sport: 9000, dport: 40000 } }, quoteLen: 28 },
    }),
    buildFrame({ eth: { src: LAB.serverMacs[1], dst: 'ff:ff:ff:ff:ff:ff' }, arp: { op: 1, spa: LAB.servers[1], tpa: LAB.natRouter } }),
    buildFrame({ eth: { src: LAB.clientMac, dst: LAB.dirPubMac }, ipv6: { src: 'fd00:18::10', dst: 'fd00:18::100' }, tcp: { sport: 1, dport: 9000 } }),
  ];
  const buf = new Uint8Array(2048 + 16);
  const N = 1_000_000;
  const flagsChoice = [0, 0, 0, PARSE_GSO, PARSE_CSUM_PARTIAL];
  let thrown = 0;
  const now = Date.now();
  for (let i = 0; i < N; i++) {
    const r = rand();
    let len: number;
    if (r % 10 === 0) {
      len = rand() % 1600;
      for (let k = 0; k < len; k++) buf[16 + k] = rand() & 0xff;
    } else {
      const s = seeds[r % seeds.length]!;
      buf.set(s, 16);
      len = s.length;
      const edits = 1 + (rand() % 4);
      for (let k = 0; k < edits; k++) buf[16 + (rand() % len)] = rand() & 0xff;
      if (rand() % 4 === 0) len = rand() % (len + 1);
    }
    try {
      e.engine.handle(buf, 16, len, 6, flagsChoice[rand() % flagsChoice.length]!, rand() % 8 === 0 ? 1 : 0, rand() & 1, now);
      if ((i & 255) === 0) e.engine.afterBatch(now);
    } catch {
      thrown++;
    }
  }
  t.equal(thrown, 0, 'no frame threw');
  const c = e.engine.stats.engine;
  t.equal(c[ENGINE.rxFrames], N, 'every frame counted');
  t.ok(c[ENGINE.malformed]! > 0, `malformed frames counted per reason (${c[ENGINE.malformed]})`);
  // Still works: a fresh SYN from a new client port is balanced.
  const before = e.priv.committed;
  feed(e, buildFrame({ eth: { src: LAB.clientMac, dst: LAB.dirPubMac }, ipv4: { src: LAB.client, dst: LAB.vip, ttl: 64 }, tcp: { sport: 55555, dport: 9000, flags: 2 } }), 0);
  t.equal(e.priv.committed, before + 1, `a valid SYN still goes through afterwards (table full: ${c[ENGINE.tableFull]}, no dest: ${c[ENGINE.noDest]})`);
});
