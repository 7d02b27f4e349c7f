// The lab plan (pure): addresses, MACs, gateways per mode, option validation.
import t from 'tap';
import { isLabNamespace, planLab, resolveOptions } from '../../src/lab/index.js';

t.test('default plan: names, addresses, MACs, floating addresses', async (t) => {
  const p = planLab({ prefix: 'pt' });
  const d = p.description;
  t.equal(d.mode, 'nat');
  t.same(d.namespaces, ['pt-sw', 'pt-client', 'pt-dir1', 'pt-dir2', 'pt-rs1', 'pt-rs2', 'pt-rs3']);
  t.same(d.segments.public, {
    name: 'public',
    bridge: 'brpub',
    ipv4: '198.18.0.0/24',
    ipv6: 'fd00:18::/64',
    router: { ipv4: '198.18.0.1', ipv6: 'fd00:18::1', mac: '02:75:76:18:00:01' },
  });
  t.equal(d.segments.private.router.ipv4, '198.19.0.1');
  t.same(d.vip, { ipv4: '198.18.0.100', ipv6: 'fd00:18::100' });
  t.same(d.natRouter, { ipv4: '198.19.0.254', ipv6: 'fd00:19::254' });
  t.equal(d.client.eth0.ipv4, '198.18.0.10');
  t.equal(d.client.eth0.ipv6, 'fd00:18::10');
  t.equal(d.directors[0].public.ipv4, '198.18.0.2');
  t.equal(d.directors[0].private.ipv4, '198.19.0.2');
  t.equal(d.directors[1].public.ipv6, 'fd00:18::3');
  t.equal(d.directors[0].role, 'active');
  t.equal(d.directors[1].role, 'backup');
  t.same(
    d.servers.map((s) => [s.name, s.ns, s.eth0.ipv4, s.eth0.ipv6, s.eth0.switchPort]),
    [
      ['rs1', 'pt-rs1', '198.19.0.11', 'fd00:19::11', 'r1'],
      ['rs2', 'pt-rs2', '198.19.0.12', 'fd00:19::12', 'r2'],
      ['rs3', 'pt-rs3', '198.19.0.13', 'fd00:19::13', 'r3'],
    ],
  );
  const macs = [
    d.client.eth0.mac,
    d.client.eth0.switchPortMac,
    ...d.directors.flatMap((x) => [x.public.mac, x.private.mac, x.public.switchPortMac, x.private.switchPortMac]),
    ...d.servers.flatMap((s) => [s.eth0.mac, s.eth0.switchPortMac]),
    d.segments.public.router.mac,
    d.segments.private.router.mac,
  ];
  t.equal(new Set(macs).size, macs.length, 'all MACs distinct');
  for (const m of macs) t.match(m, /^02:75:76:1[89]:0[01]:[0-9a-f]{2}$/);
  // The floating addresses are never assigned by the lab.
  const addrs = [...p.switchBatch, ...[...p.hostBatches.values()].flat()].filter((l) => l.startsWith('addr ')).join('\n');
  t.match(addrs, /addr add 198\.19\.0\.11\/24 dev eth0/);
  t.notMatch(addrs, /198\.18\.0\.100|198\.19\.0\.254|fd00:18::100|fd00:19::254/);
  t.ok(p.hostBatches.get('pt-rs1')!.includes('route add default via 198.19.0.254'), 'nat: servers route via the floating NAT router');
  // Nothing outside the namespaces: veths are created in the switch namespace, peers straight into theirs.
  for (const l of p.switchBatch.filter((x) => x.includes('type veth'))) t.match(l, / netns pt-(client|dir[12]|rs\d+)$/);
  t.same(p.netnsBatch, d.namespaces.map((n) => `netns add ${n}`));
});

t.test('gateways per mode', async (t) => {
  const nat = planLab({ prefix: 'pt', mode: 'nat' }).description;
  t.same([nat.servers[0]!.gateway.ipv4, nat.servers[0]!.gateway.ipv6], ['198.19.0.254', 'fd00:19::254']);
  t.same([nat.client.gateway.ipv4, nat.client.gateway.routes], ['198.18.0.1', []]);
  t.equal(nat.servers[0]!.vipOnLo, false);

  for (const mode of ['dr', 'tun'] as const) {
    const p = planLab({ prefix: 'pt', mode });
    const d = p.description;
    t.same([d.servers[1]!.gateway.ipv4, d.servers[1]!.gateway.ipv6], ['198.19.0.1', 'fd00:19::1'], mode);
    t.equal(d.servers[1]!.vipOnLo, true);
    const b = p.hostBatches.get('pt-rs2')!;
    t.ok(b.includes('addr add 198.18.0.100/32 dev lo'));
    t.ok(b.includes('addr add fd00:18::100/128 dev lo'));
    t.ok(p.sysctls.get('pt-rs2')!.includes('net.ipv4.conf.all.arp_ignore=1'));
    t.ok(p.sysctls.get('pt-rs2')!.includes('net.ipv4.conf.all.arp_announce=2'));
  }

  const r = planLab({ prefix: 'pt', mode: 'routed' });
  t.same([r.description.servers[2]!.gateway.ipv4, r.description.servers[2]!.gateway.ipv6], ['198.19.0.2', 'fd00:19::2']);
  t.same(r.description.client.gateway.routes, ['198.19.0.0/24 via 198.18.0.2', 'fd00:19::/64 via fd00:18::2']);
  t.ok(r.hostBatches.get('pt-client')!.includes('route add 198.19.0.0/24 via 198.18.0.2'));
  t.ok(r.sysctls.get('pt-dir1')!.includes('net.ipv4.ip_forward=0'));
  t.ok(r.sysctls.get('pt-sw')!.includes('net.ipv4.ip_forward=1'));
});

t.test('several clients, custom VIP', async (t) => {
  const p = planLab({ prefix: 'pt', clients: 3, vip: '198.18.0.200', vip6: 'fd00:18::200', servers: 1, mode: 'dr' });
  t.same(p.description.client.ipv4, ['198.18.0.10', '198.18.0.11', '198.18.0.12']);
  t.same(p.description.client.ipv6, ['fd00:18::10', 'fd00:18::11', 'fd00:18::12']);
  t.same(p.description.vip, { ipv4: '198.18.0.200', ipv6: 'fd00:18::200' });
  t.ok(p.hostBatches.get('pt-rs1')!.includes('addr add 198.18.0.200/32 dev lo'));
  t.ok(p.hostBatches.get('pt-client')!.includes('addr add 198.18.0.12/24 dev eth0'));
});

t.test('option validation', async (t) => {
  const bad = (o: Parameters<typeof resolveOptions>[0], re: RegExp) =>
    t.throws(() => resolveOptions(o), { code: 'UVS_LAB_BAD_OPTION', message: re }, JSON.stringify(o));
  bad({ prefix: 'abcdefghijklm' }, /too long/);
  bad({ prefix: 'a-b' }, /invalid/);
  bad({ prefix: '1abc' }, /invalid/);
  bad({ prefix: '' }, /non-empty/);
  bad({ servers: 0 }, /servers/);
  bad({ servers: 65 }, /servers/);
  bad({ clients: 2.5 }, /clients/);
  bad({ mode: 'bogus' as never }, /mode/);
  bad({ vip: '10.1.2.3' }, /not in 198\.18\.0\.0\/24/);
  bad({ vip: '198.18.0.2' }, /already used by the lab \(dir1\)/);
  bad({ vip: '198.18.0.11', clients: 2 }, /client/);
  bad({ vip: 'nope' }, /not an IPv4/);
  bad({ vip6: 'fd00:19::100' }, /not in fd00:18::/);
  bad({ vip6: 'fd00:18::10' }, /already used/);
  bad({ natRouter: '198.19.0.12' }, /rs2/);
  t.equal(resolveOptions({ prefix: 'abcdefghijkl' }).prefix, 'abcdefghijkl');
});

t.test('namespace ownership by prefix', async (t) => {
  t.ok(isLabNamespace('ab', 'ab-sw'));
  t.ok(isLabNamespace('ab', 'ab-rs12'));
  t.notOk(isLabNamespace('ab', 'abc-sw'));
  t.notOk(isLabNamespace('ab', 'ab-rs0'));
  t.notOk(isLabNamespace('ab', 'ab-other'));
  t.notOk(isLabNamespace('a', 'ab-sw'));
});
