// ICMP errors about balanced connections are translated like IPVS does: a "fragmentation
// needed" from the client about a reply it got from the VIP reaches the real server that
// owns the connection, rewritten (outer destination and quoted source = the real server),
// and that server's kernel accepts it: its path MTU towards the client drops.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { buildLab } from '../../src/lab/index.js';
import { uniquePrefix } from '../../src/lab/testing.js';
import { bytesToHex } from '../../src/packet/addr.js';
import { buildFrame } from '../../src/packet/builder.js';
import { labConfig, startForward } from './fixtures/forward.js';

const INJECT = fileURLToPath(new URL('../packet/fixtures/inject.js', import.meta.url));

t.test('NAT: ICMP fragmentation-needed from the client reaches the right real server rewritten', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('ic'), servers: 3, mode: 'nat' });
  t.teardown(() => lab.down());
  const d = lab.description;
  const vip = d.vip.ipv4;
  const fwd = await startForward(lab, labConfig(lab, 'nat'), 2);

  // A UDP exchange from a fixed client port creates the connection and tells us its server.
  const probe = await lab.probe('client', { proto: 'udp', host: vip, port: 9000, send: 'hello', bind: d.client.ipv4[0], timeoutMs: 2000 });
  t.ok(probe.ok, 'UDP exchange through the VIP');
  const server = probe.received!.split(' ')[0]!;
  const cport = Number(probe.local!.split(':')[1]);
  const rs = d.servers.find((s) => s.name === server)!;
  const routeBefore = await lab.ip(rs.name, ['route', 'get', d.client.ipv4[0]!]);
  t.notMatch(routeBefore, /mtu 1280/, `${server} has no reduced MTU to the client yet`);

  // The client (its router, in real life) reports that the VIP's reply was too big.
  const icmp = buildFrame({
    eth: { src: d.client.eth0.mac, dst: d.directors[0].public.mac },
    ipv4: { src: d.client.ipv4[0]!, dst: vip, ttl: 64 },
    icmp: {
      type: 3,
      code: 4,
      rest: 1280,
      quote: { ipv4: { src: vip, dst: d.client.ipv4[0]!, ttl: 63, df: true }, udp: { sport: 9000, dport: cport }, payload: '00'.repeat(1400) },
      quoteLen: 28,
    },
  });
  await lab.exec('client', [process.execPath, INJECT, 'eth0', '50', bytesToHex(icmp)]);
  let routeAfter = '';
  for (let i = 0; i < 40 && !/mtu 1280/.test(routeAfter); i++) {
    await new Promise((r) => setTimeout(r, 50));
    routeAfter = await lab.ip(rs.name, ['route', 'get', d.client.ipv4[0]!]);
  }
  t.match(routeAfter, /mtu 1280/, `${server}'s kernel took the translated frag-needed: ${routeAfter.trim().split('\n').join(' | ')}`);
  for (const other of d.servers.filter((s) => s.name !== server)) {
    t.notMatch(await lab.ip(other.name, ['route', 'get', d.client.ipv4[0]!]), /mtu 1280/, `${other.name} got nothing`);
  }
  const stats = await fwd.stop();
  t.equal(stats.icmpTranslated, 1, 'uvs counted one translated ICMP error');
});

t.test('NAT: PMTU through uvs — frag-needed for a DF packet, reassembly and fragmentation for the rest', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('pm'), servers: 1, mode: 'nat' });
  t.teardown(() => lab.down());
  const d = lab.description;
  const vip = d.vip.ipv4;
  // The private segment has a smaller MTU than the public one.
  await lab.ip('dir1', ['link', 'set', 'priv0', 'mtu', '1400']);
  await lab.ip('rs1', ['link', 'set', 'eth0', 'mtu', '1400']);
  const fwd = await startForward(lab, labConfig(lab, 'nat'), 2);

  // Linux sends UDP with DF while it believes the path takes it: the first 1450-byte
  // datagram is answered with "fragmentation needed, MTU 1400" from the VIP.
  const first = await lab.probe('client', { proto: 'udp', host: vip, port: 9000, size: 1450, timeoutMs: 700 });
  t.equal(first.ok, false, 'the first oversized DF datagram does not get through');
  const route = await lab.ip('client', ['route', 'get', vip]);
  t.match(route, /mtu 1400/, `the client learnt the path MTU from uvs: ${route.trim().split('\n').join(' | ')}`);
  // Now the client fragments; the fanout reassembles, uvs NATs and fragments again for the
  // 1400-byte segment; the server's reply (fragmented by its own stack) comes back the same way.
  const second = await lab.probe('client', { proto: 'udp', host: vip, port: 9000, size: 1450, timeoutMs: 3000 });
  t.ok(second.ok && second.echoOk, `the 1450-byte datagram and its echo made it (${second.bytes} bytes back)`);
  const stats = await fwd.stop();
  t.ok(stats.icmpSent >= 1, `uvs sent frag-needed (${stats.icmpSent})`);
  t.ok(stats.fragmented >= 2, `uvs fragmented for the smaller MTU (${stats.fragmented} fragments)`);
});
