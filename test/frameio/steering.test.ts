// Fanout (hash, cbpf), socket filters, PACKET_IGNORE_OUTGOING.

import t from 'tap';
import type { UdpSpec } from './fixtures/frames.js';
import { makePair, runChild } from './fixtures/netns.js';
import { PACKET_OTHERHOST, PACKET_OUTGOING } from '../../src/frameio/index.js';

const OTHER_MAC = '02:00:00:00:00:99';

function udpSpec(p: { macA: string; ipA: string; ipB: string }, sport: number, dport: number): UdpSpec {
  return { srcMac: p.macA, dstMac: OTHER_MAC, srcIp: p.ipA, dstIp: p.ipB, sport, dport };
}

t.test('fanout hash: two sockets split 32 flows, each flow sticks to one socket', async (t) => {
  const p = makePair(t);
  const N = 256;
  const rx = runChild(t, p.b, 'fanout', { ifname: p.ifB, group: 77, mode: 'hash', match: { udpDports: [7100] }, expect: N, timeoutMs: 10000 });
  await rx.ready;
  const tx = runChild(t, p.a, 'send', { ifname: p.ifA, spec: udpSpec(p, 20000, 7100), count: N, batch: 32, flows: 32 });
  t.notOk((await tx.result).crashed, 'sender ran');
  const r = await rx.result;
  t.notOk(r.crashed, 'receiver ran', r.crashed);
  t.equal(r.counts[0] + r.counts[1], N, 'every frame delivered to exactly one member');
  t.ok(r.counts[0] > 0 && r.counts[1] > 0, `both members got traffic (${r.counts})`);
  const overlap = r.sports[0].filter((s: number) => r.sports[1].includes(s));
  t.same(overlap, [], 'no flow seen by both members');
  t.equal(r.sports[0].length + r.sports[1].length, 32, 'all 32 flows seen');
});

t.test('fanout lb with a kernel-chosen group id: strict round robin', async (t) => {
  const p = makePair(t);
  const N = 100;
  const rx = runChild(t, p.b, 'fanout', { ifname: p.ifB, mode: 'lb', uniqueId: true, match: { udpDports: [7150] }, expect: N, timeoutMs: 10000 });
  await rx.ready;
  const tx = runChild(t, p.a, 'send', { ifname: p.ifA, spec: udpSpec(p, 20500, 7150), count: N, batch: 20 });
  t.notOk((await tx.result).crashed, 'sender ran');
  const r = await rx.result;
  t.notOk(r.crashed, 'receiver ran', r.crashed);
  t.equal(r.groups[0], r.groups[1], `both members in kernel-picked group ${r.groups[0]}`);
  t.same(r.counts, [N / 2, N / 2], 'frames alternate between the two members');
});

t.test('fanout cbpf: a steering program returning 1 sends everything to the second socket', async (t) => {
  const p = makePair(t);
  const N = 100;
  const rx = runChild(t, p.b, 'fanout', {
    ifname: p.ifB,
    group: 78,
    mode: 'cbpf',
    programAsm: 'ret #1',
    match: { udpDports: [7200] },
    expect: N,
    timeoutMs: 10000,
  });
  await rx.ready;
  const tx = runChild(t, p.a, 'send', { ifname: p.ifA, spec: udpSpec(p, 21000, 7200), count: N, batch: 25, flows: 16 });
  t.notOk((await tx.result).crashed, 'sender ran');
  const r = await rx.result;
  t.notOk(r.crashed, 'receiver ran', r.crashed);
  t.same(r.counts, [0, N], 'member 0 got nothing, member 1 got all');
});

t.test('fanout cbpf: a program steering on the UDP port', async (t) => {
  const p = makePair(t);
  const N = 120;
  // even destination port -> member 0, odd -> member 1 (IPv4/UDP without options)
  const prog = `
        ldh [36]
        and #1
        ret a`;
  const rx = runChild(t, p.b, 'fanout', { ifname: p.ifB, group: 79, mode: 'cbpf', programAsm: prog, match: { udpDports: [7300, 7301] }, expect: N, timeoutMs: 10000 });
  await rx.ready;
  const a = runChild(t, p.a, 'send', { ifname: p.ifA, spec: udpSpec(p, 22000, 7300), count: N / 2, batch: 30 });
  t.notOk((await a.result).crashed, 'sender ran');
  const b = runChild(t, p.a, 'send', { ifname: p.ifA, spec: udpSpec(p, 22000, 7301), count: N / 2, batch: 30, start: 1000 });
  t.notOk((await b.result).crashed, 'sender ran');
  const r = await rx.result;
  t.notOk(r.crashed, 'receiver ran', r.crashed);
  t.same(r.counts, [N / 2, N / 2], 'split by port parity');
});

const ACCEPT_UDP_7777 = `
        ldh [12]
        jneq #0x800, drop
        ldb [23]
        jneq #17, drop
        ldh [20]
        jset #0x1fff, drop      ; not a first fragment
        ldxb 4*([14]&0xf)
        ldh [x + 16]
        jneq #7777, drop
        ret #65535
  drop: ret #0`;

for (const how of ['attachFilter after open', 'filter option at open'] as const) {
  t.test(`socket filter (${how}) drops what the program rejects`, async (t) => {
    const p = makePair(t);
    const open = how === 'filter option at open' ? { tx: false, filterAsm: ACCEPT_UDP_7777 } : { tx: false };
    const rx = runChild(t, p.b, 'collect', {
      ifname: p.ifB,
      open,
      attachFilterAsm: how === 'attachFilter after open' ? ACCEPT_UDP_7777 : undefined,
      match: { udpDports: [7777] },
      expect: 30,
      lingerMs: 300,
      timeoutMs: 8000,
    });
    await rx.ready;
    // 30 frames to 7777 and 30 to 8888, interleaved in time
    const s1 = runChild(t, p.a, 'send', { ifname: p.ifA, spec: udpSpec(p, 23000, 8888), count: 30, batch: 10 });
    t.notOk((await s1.result).crashed, 'sender ran');
    const s2 = runChild(t, p.a, 'send', { ifname: p.ifA, spec: udpSpec(p, 23000, 7777), count: 30, batch: 10, start: 100 });
    t.notOk((await s2.result).crashed, 'sender ran');
    const s3 = runChild(t, p.a, 'send', { ifname: p.ifA, spec: udpSpec(p, 23000, 8888), count: 30, batch: 10, start: 200 });
    t.notOk((await s3.result).crashed, 'sender ran');
    const r = await rx.result;
    t.notOk(r.crashed, 'receiver ran', r.crashed);
    t.equal(r.frames.length, 30, 'all accepted frames arrived');
    t.equal(r.other, 0, 'no rejected frame reached the ring');
    if (how === 'filter option at open') t.equal(r.stats.packets, 30, 'kernel counted only accepted frames');
  });
}

t.test('PACKET_IGNORE_OUTGOING hides frames this host sends', async (t) => {
  const p = makePair(t);
  const K = 40; // sent by A itself
  const M = 25; // sent by B towards A
  const obs = runChild(t, p.a, 'outgoing', {
    ifname: p.ifA,
    spec: udpSpec(p, 24000, 7402),
    count: K,
    match: { udpDports: [7401, 7402] },
    expectAll: K + M,
    expectIgnoring: M,
    timeoutMs: 10000,
  });
  await obs.ready;
  const fromB = runChild(t, p.b, 'send', {
    ifname: p.ifB,
    spec: { srcMac: p.macB, dstMac: OTHER_MAC, srcIp: p.ipB, dstIp: p.ipA, sport: 24000, dport: 7401 },
    count: M,
    batch: 25,
  });
  t.notOk((await fromB.result).crashed, 'sender ran');
  const r = await obs.result;
  t.notOk(r.crashed, 'observer ran', r.crashed);
  t.same(r.seeAll.byKey, { 7401: M, 7402: K }, 'plain socket sees incoming and outgoing');
  t.same(r.seeAll.byPktType, { [PACKET_OTHERHOST]: M, [PACKET_OUTGOING]: K }, 'outgoing ones flagged PACKET_OUTGOING');
  t.same(r.ignoring.byKey, { 7401: M }, 'PACKET_IGNORE_OUTGOING socket sees only incoming');
});
