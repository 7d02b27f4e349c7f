// interfaceInfo() and gratuitous ARP.

import t from 'tap';
import { ip, makePair, runChild } from './fixtures/netns.js';
import { macBytes, ipBytes } from './fixtures/frames.js';

t.test('interfaceInfo returns MAC, MTU, index and addresses', async (t) => {
  const p = makePair(t, { ipv6: true, mtu: 1400 });
  ip('-n', p.a, 'addr', 'add', '10.199.9.9/16', 'dev', p.ifA);
  ip('-n', p.a, 'addr', 'add', 'fd00:199::1/64', 'dev', p.ifA, 'nodad');
  const links = JSON.parse(ip('-n', p.a, '-j', 'link', 'show', p.ifA)) as { ifindex: number }[];
  const r = await runChild(t, p.a, 'info', { names: [p.ifA, 'lo', 'nope0'] }).result;
  t.notOk(r.crashed, 'child ran', r.crashed);
  const i = r[p.ifA];
  t.equal(i.name, p.ifA);
  t.equal(i.ifindex, links[0]!.ifindex, 'ifindex');
  t.equal(i.mac, p.macA, 'MAC');
  t.equal(i.mtu, 1400, 'MTU');
  t.equal(i.hardwareType, 1, 'ARPHRD_ETHER');
  t.equal(i.up, true, 'up');
  t.same(
    [...i.ipv4].sort((x: { address: string }, y: { address: string }) => x.address.localeCompare(y.address)),
    [
      { address: '10.199.0.1', prefixLength: 24 },
      { address: '10.199.9.9', prefixLength: 16 },
    ],
    'IPv4 addresses with prefix lengths',
  );
  t.ok(
    i.ipv6.some((a: { address: string; prefixLength: number }) => a.address === 'fd00:199::1' && a.prefixLength === 64),
    'global IPv6 address',
  );
  t.ok(
    i.ipv6.some((a: { address: string; scopeId: number }) => a.address.startsWith('fe80:') && a.scopeId === i.ifindex),
    'link-local IPv6 address with scope id',
  );
  t.equal(r.lo.mac, '00:00:00:00:00:00', 'loopback has a zero MAC');
  t.equal(r.lo.hardwareType, 772, 'ARPHRD_LOOPBACK');
  t.equal(r.nope0.error.code, 'UVS_FRAMEIO_NO_INTERFACE', 'missing interface');
  t.match(r.nope0.error.message, /nope0/, 'message names the interface');
});

function expectedArp(op: 1 | 2, mac: string, vip: string): string {
  const m = macBytes(mac);
  const v = ipBytes(vip);
  const bytes = [
    ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // eth dst: broadcast
    ...m, // eth src
    0x08, 0x06, // ARP
    0x00, 0x01, 0x08, 0x00, 6, 4, // Ethernet / IPv4
    0x00, op,
    ...m, ...v, // sender MAC, sender IP = VIP
    ...(op === 1 ? [0, 0, 0, 0, 0, 0] : m), ...v, // target MAC (zero / own), target IP = VIP
  ];
  return Buffer.from(bytes).toString('hex');
}

t.test('gratuitous ARP request and reply arrive on the peer with the exact bytes', async (t) => {
  const p = makePair(t);
  const VIP = '10.199.0.100';
  const OVERRIDE = '02:aa:bb:cc:dd:ee';
  const rx = runChild(t, p.b, 'collect', {
    ifname: p.ifB,
    open: { tx: false, protocol: 0x0806 },
    match: { arp: true },
    expect: 4,
    lingerMs: 300,
    maxHex: 10,
    timeoutMs: 8000,
  });
  await rx.ready;
  const s = await runChild(t, p.a, 'garp', {
    ifname: p.ifA,
    calls: [
      { ip: VIP, options: { form: 'request', count: 2 } },
      { ip: VIP, options: { form: 'reply' } },
      { ip: VIP, options: { form: 'reply', mac: OVERRIDE } },
      { ip: 'not-an-ip', options: {} },
    ],
  }).result;
  t.notOk(s.crashed, 'sender ran', s.crashed);
  t.same(s.sent.slice(0, 3), [2, 1, 1], 'frames sent per call');
  t.equal(s.sent[3].error.code, 'UVS_FRAMEIO_INVALID_ARGUMENT', 'bad IPv4 rejected');
  const r = await rx.result;
  t.notOk(r.crashed, 'receiver ran', r.crashed);
  t.same(
    r.frames.map((f: { hex: string }) => f.hex),
    [expectedArp(1, p.macA, VIP), expectedArp(1, p.macA, VIP), expectedArp(2, p.macA, VIP), expectedArp(2, OVERRIDE, VIP)],
    'request x2 (op 1, target MAC zero), reply (op 2, target MAC own), reply with overridden MAC',
  );
  t.ok(r.frames.every((f: { pkttype: number }) => f.pkttype === 1), 'received as PACKET_BROADCAST');
});
