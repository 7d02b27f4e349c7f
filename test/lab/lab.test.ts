// The lab builder against the real kernel: nothing left behind, wiring as described,
// traffic through each mode, two labs side by side.
import t from 'tap';
import { buildLab, labDown, labStatus, type Lab } from '../../src/lab/index.js';
import { exists, labNamespaces, lineDiff, netnsList, pidAlive, sh, uniquePrefix } from '../../src/lab/testing.js';

t.setTimeout(120_000);

/** Our interface names as they would appear in `ip link` if anything leaked into the root. */
const OUR_IFACES = /^\d+: (brpub|brpriv|c0|d[12][pv]|r\d+|pub0|priv0|eth0@)[:@]/;

function safeDown(lab: Lab | null, prefix: string): () => Promise<void> {
  return async () => {
    if (lab) await lab.down().catch(() => {});
    await labDown(prefix).catch(() => {});
  };
}

t.test('up then down leaves `ip netns list` and root `ip link` as before', async (t) => {
  const prefix = uniquePrefix('a');
  const before = { netns: sh(['ip', 'netns', 'list']), link: sh(['ip', 'link']) };
  const t0 = performance.now();
  const lab = await buildLab({ prefix, servers: 3, mode: 'nat' });
  const upMs = performance.now() - t0;
  t.teardown(safeDown(lab, prefix));
  t.comment(`up: ${upMs.toFixed(0)} ms`);
  t.ok(upMs < 3000, `up with 3 servers in < 3 s (${upMs.toFixed(0)} ms)`);

  // While up: the lab's namespaces exist, the root namespace's links did not change at all.
  t.same(labNamespaces(prefix).sort(), [...lab.description.namespaces].sort());
  const linkUp = sh(['ip', 'link']);
  const d1 = lineDiff(before.link, linkUp);
  t.same(d1.added.filter((l) => OUR_IFACES.test(l)), [], 'no lab interface in the root namespace');
  if (d1.added.length || d1.removed.length) t.comment(`root ip link changed by someone else meanwhile: ${JSON.stringify(d1)}`);
  else t.equal(linkUp, before.link, 'root ip link unchanged while the lab is up');

  const st = await labStatus(prefix);
  t.equal(st.up, true);
  t.equal(st.processes.length, 3);
  t.ok(st.processes.every((p) => p.alive));
  const pids = st.processes.map((p) => p.pid);
  t.ok(exists(lab.statePath));

  const t1 = performance.now();
  const r = await lab.down();
  const downMs = performance.now() - t1;
  t.comment(`down: ${downMs.toFixed(0)} ms`);
  t.same([...r.namespaces].sort(), [...lab.description.namespaces].sort());
  t.same([...r.killed].sort(), [...pids].sort());
  t.same(r.forced, [], 'real servers stop on SIGTERM');

  const after = { netns: sh(['ip', 'netns', 'list']), link: sh(['ip', 'link']) };
  t.same(labNamespaces(prefix), [], 'no namespace of the prefix left');
  for (const [what, b, a] of [
    ['ip netns list', before.netns, after.netns],
    ['ip link', before.link, after.link],
  ] as const) {
    if (a === b) t.pass(`${what} exactly as before`);
    else {
      const diff = lineDiff(b, a);
      t.notOk([...diff.added, ...diff.removed].some((l) => l.startsWith(prefix + '-') || OUR_IFACES.test(l)), `${what}: differences are not ours`);
      t.comment(`${what} changed by someone else meanwhile: ${JSON.stringify(diff)}`);
    }
  }
  t.ok(pids.every((p) => !pidAlive(p)), 'real-server processes gone');
  t.notOk(exists(lab.statePath), 'state file removed');
  t.notOk(exists(lab.logDir), 'log directory removed');
  await t.rejects(lab.exec('client', ['true']), { code: 'UVS_LAB_CLOSED' });
});

t.test('wiring matches the description (MACs, addresses, sysctls, offloads)', async (t) => {
  const prefix = uniquePrefix('w');
  const lab = await buildLab({ prefix, servers: 2, mode: 'dr', clients: 2 });
  t.teardown(safeDown(lab, prefix));
  const d = lab.description;

  const ifaces = [d.client.eth0, ...d.directors.flatMap((x) => [x.public, x.private]), ...d.servers.map((s) => s.eth0)];
  for (const i of ifaces) {
    const [j] = JSON.parse(await lab.ip(i.ns, ['-j', 'addr', 'show', 'dev', i.name])) as {
      address: string;
      operstate: string;
      addr_info: { family: string; local: string; prefixlen: number }[];
    }[];
    t.equal(j!.address, i.mac, `${i.ns} ${i.name} MAC`);
    t.equal(j!.operstate, 'UP', `${i.ns} ${i.name} up`);
    const locals = j!.addr_info.map((a) => `${a.local}/${a.prefixlen}`);
    t.ok(locals.includes(`${i.ipv4}/24`), `${i.ns} ${i.name} has ${i.ipv4}`);
    t.ok(locals.includes(`${i.ipv6}/64`), `${i.ns} ${i.name} has ${i.ipv6}`);
    // The switch port and its bridge.
    const [port] = JSON.parse(await lab.ip('sw', ['-j', 'link', 'show', 'dev', i.switchPort])) as { address: string; master: string }[];
    t.equal(port!.address, i.switchPortMac);
    t.equal(port!.master, i.segment === 'public' ? 'brpub' : 'brpriv');
  }
  t.match(await lab.ip('client', ['-4', 'addr', 'show', 'dev', 'eth0']), /198\.18\.0\.11\/24/, 'second client address');

  // Real servers: VIP on lo, ARP-silenced; default route via the switch router in DR mode.
  for (const s of d.servers) {
    const lo = await lab.ip(s.ns, ['addr', 'show', 'dev', 'lo']);
    t.match(lo, /inet 198\.18\.0\.100\/32/);
    t.match(lo, /inet6 fd00:18::100\/128/);
    const sc = await lab.exec(s.ns, ['sysctl', '-n', 'net.ipv4.conf.all.arp_ignore', 'net.ipv4.conf.eth0.arp_ignore', 'net.ipv4.conf.all.arp_announce', 'net.ipv4.conf.eth0.arp_announce', 'net.ipv4.conf.all.rp_filter']);
    t.same(sc.trim().split('\n'), ['1', '1', '2', '2', '0'], `${s.name} arp_ignore/arp_announce/rp_filter`);
    t.match(await lab.ip(s.ns, ['route', 'show', 'default']), /default via 198\.19\.0\.1 dev eth0/);
    t.match(await lab.ip(s.ns, ['-6', 'route', 'show', 'default']), /default via fd00:19::1 dev eth0/);
  }
  // Forwarding: switch on, directors off (until asked).
  t.equal((await lab.exec('sw', ['sysctl', '-n', 'net.ipv4.ip_forward'])).trim(), '1');
  t.equal((await lab.exec('dir1', ['sysctl', '-n', 'net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding'])).trim(), '0\n0');
  await lab.setForwarding('dir2', true);
  t.equal((await lab.exec('dir2', ['sysctl', '-n', 'net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding'])).trim(), '1\n1');
  // Offloads left on by default.
  t.match(await lab.exec('client', ['ethtool', '-k', 'eth0']), /tx-checksumming: on/);

  // The VIP is floating: nobody on the public segment answers for it before a director owns it.
  const vip = await lab.probe('client', { proto: 'tcp', host: d.vip.ipv4, port: 9000, timeoutMs: 1500 });
  t.equal(vip.ok, false, `no one answers for the VIP yet (${vip.error})`);

  // exec errors are coded and say what failed.
  await t.rejects(lab.exec('dir1', ['ip', 'link', 'show', 'nosuchdev']), {
    code: 'UVS_LAB_EXEC',
    message: new RegExp(`in namespace ${prefix}-dir1: ip link show nosuchdev \\(exit code 1\\): Device "nosuchdev" does not exist`),
  });
  t.throws(() => lab.ns('rs9'), { code: 'UVS_LAB_BAD_NAMESPACE' });
});

t.test("'routed' mode: the client reaches every server through dir1", async (t) => {
  const prefix = uniquePrefix('r');
  const lab = await buildLab({ prefix, servers: 3, mode: 'routed', clients: 2 });
  t.teardown(safeDown(lab, prefix));
  const d = lab.description;

  // dir1 does not forward yet: the path really goes through dir1.
  const blocked = await lab.probe('client', { proto: 'tcp', host: d.servers[0]!.eth0.ipv4, port: 9000, timeoutMs: 700 });
  t.equal(blocked.ok, false, 'no path while dir1 does not forward');

  await lab.setForwarding('dir1', true);
  for (const s of d.servers) {
    for (const [src, dst] of [
      [d.client.ipv4[0]!, s.eth0.ipv4],
      [d.client.ipv4[1]!, s.eth0.ipv4],
      [d.client.ipv6[0]!, s.eth0.ipv6],
    ]) {
      const payload = `hello ${s.name} from ${src}`;
      const r = await lab.probe('client', { proto: 'tcp', host: dst, port: d.ports.identify, send: payload, bind: src });
      t.equal(r.ok, true, `tcp identify ${src} -> ${dst} ${r.error ?? ''}`);
      const port = r.local!.slice(r.local!.lastIndexOf(':') + 1);
      t.equal(r.firstLine, `${s.name} ${src}:${port}`, 'names the server and the client address:port');
      t.equal(r.received, `${s.name} ${src}:${port}\n${payload}`, 'then echoes');
    }
    const u = await lab.probe('client', { proto: 'udp', host: s.eth0.ipv4, port: d.ports.identify, send: 'ping' });
    t.equal(u.ok, true, `udp identify ${s.name} ${u.error ?? ''}`);
    const uport = u.local!.slice(u.local!.lastIndexOf(':') + 1);
    t.equal(u.received, `${s.name} ${d.client.ipv4[0]}:${uport} ping`);

    const h = await lab.probe('client', { proto: 'http', host: s.eth0.ipv4 });
    t.equal(h.status, 200);
    t.equal(h.server, s.name, 'X-Real-Server');
    t.match(h.received, new RegExp(`^${s.name} 198\\.18\\.0\\.10:\\d+\\n$`), 'HTTP body names server and client');
  }
  // Echo of a megabyte (TCP, offloads on) and UDP echo.
  const big = await lab.probe('client', { proto: 'tcp', host: d.servers[1]!.eth0.ipv4, port: d.ports.echo, size: 1 << 20, timeoutMs: 10_000 });
  t.equal(big.ok, true);
  t.equal(big.bytes, 1 << 20);
  t.equal(big.echoOk, true, '1 MiB echoed intact');
  const ue = await lab.probe('client', { proto: 'udp', host: d.servers[2]!.eth0.ipv6, port: d.ports.echo, send: 'x'.repeat(1200) });
  t.equal(ue.received, 'x'.repeat(1200));

  // Forwarding off again: blocked again.
  await lab.setForwarding('dir1', false);
  const again = await lab.probe('client', { proto: 'udp', host: d.servers[0]!.eth0.ipv4, port: d.ports.identify, send: 'x', timeoutMs: 500 });
  t.equal(again.ok, false);
});

t.test("'dr' mode: the client reaches a server's RIP through the switch router; the VIP on lo is served", async (t) => {
  const prefix = uniquePrefix('d');
  const lab = await buildLab({ prefix, servers: 2, mode: 'dr' });
  t.teardown(safeDown(lab, prefix));
  const d = lab.description;
  const rs2 = d.servers[1]!;

  const r = await lab.probe('client', { proto: 'tcp', host: rs2.eth0.ipv4, port: 9000, send: 'dr' });
  t.equal(r.ok, true, r.error ?? '');
  t.match(r.firstLine, /^rs2 198\.18\.0\.10:\d+$/);
  const r6 = await lab.probe('client', { proto: 'tcp', host: rs2.eth0.ipv6, port: 9000 });
  t.match(r6.firstLine, /^rs2 fd00:18::10:\d+$/);
  const h = await lab.probe('client', { proto: 'http', host: rs2.eth0.ipv4 });
  t.equal(h.server, 'rs2');
  // The path is the switch router: its counters move, dir1's do not forward (ip_forward=0).
  const trace = await lab.exec('client', ['ip', 'route', 'get', rs2.eth0.ipv4]);
  t.match(trace, /via 198\.18\.0\.1 dev eth0/);

  // The real server accepts connections to the VIP (on lo) and UDP replies leave from the VIP:
  // a connected UDP socket accepts only replies from the address it sent to.
  const self = await lab.probe(rs2.ns, { proto: 'tcp', host: d.vip.ipv4, port: 9000 });
  t.match(self.firstLine, /^rs2 198\.18\.0\.100:\d+$/);
  const su = await lab.probe(rs2.ns, { proto: 'udp', host: d.vip.ipv4, port: 9000, send: 'v' });
  t.equal(su.ok, true, `UDP reply from the VIP ${su.error ?? ''}`);
  t.match(su.received, /^rs2 198\.18\.0\.100:\d+ v$/);
  const su6 = await lab.probe(rs2.ns, { proto: 'udp', host: d.vip.ipv6, port: 7, send: 'v6' });
  t.equal(su6.received, 'v6');

  // Direct routing by hand from dir1's private side: ARP for the VIP there gets no answer
  // (arp_ignore=1 on every real server) ...
  await lab.ip('dir1', ['route', 'add', `${d.vip.ipv4}/32`, 'dev', 'priv0']);
  const arp = await lab.probe('dir1', { proto: 'tcp', host: d.vip.ipv4, port: 9000, timeoutMs: 1500 });
  t.equal(arp.ok, false, 'no real server answers ARP for the VIP');
  t.notMatch(await lab.ip('dir1', ['neigh', 'show', d.vip.ipv4]), /lladdr/, 'VIP unresolved on the private segment');
  // ... but a frame for the VIP sent to a real server's MAC is accepted by that server (VIP on lo),
  // which answers from the VIP.
  for (const s of d.servers) {
    await lab.ip('dir1', ['neigh', 'replace', d.vip.ipv4, 'lladdr', s.eth0.mac, 'dev', 'priv0', 'nud', 'permanent']);
    const r = await lab.probe('dir1', { proto: 'tcp', host: d.vip.ipv4, port: 9000, send: 'dr' });
    t.equal(r.ok, true, `DR to ${s.name} by MAC ${r.error ?? ''}`);
    t.match(r.firstLine, new RegExp(`^${s.name} 198\\.19\\.0\\.2:\\d+$`), `${s.name} answers for the VIP`);
  }
});

t.test("'tun' mode records whether the kernel has ipip; offloads can be turned off", async (t) => {
  const prefix = uniquePrefix('t');
  const lab = await buildLab({ prefix, servers: 1, mode: 'tun', offloads: false, startServers: false });
  t.teardown(safeDown(lab, prefix));
  const d = lab.description;
  let hasTunl0 = true;
  try {
    await lab.ip('rs1', ['link', 'show', 'tunl0']);
  } catch {
    hasTunl0 = false;
  }
  t.equal(d.ipip, hasTunl0, `description.ipip (${d.ipip}) matches the kernel`);
  t.equal(d.servers[0]!.tunl0, hasTunl0);
  t.equal(d.serversStarted, false);
  t.same(lab.processes(), []);
  t.equal(d.offloads, false);
  for (const [ns, dev] of [
    ['client', 'eth0'],
    ['rs1', 'eth0'],
    ['dir1', 'pub0'],
    ['sw', 'c0'],
  ]) {
    t.match(await lab.exec(ns!, ['ethtool', '-k', dev!]), /tx-checksumming: off/, `${ns} ${dev} offloads off`);
  }
});

t.test('two labs with different prefixes coexist and go down independently', async (t) => {
  const pa = uniquePrefix('x');
  const pb = uniquePrefix('y');
  const [a, b] = await Promise.all([buildLab({ prefix: pa, servers: 2, mode: 'dr' }), buildLab({ prefix: pb, servers: 2, mode: 'dr' })]);
  t.teardown(safeDown(a, pa));
  t.teardown(safeDown(b, pb));
  t.equal(labNamespaces(pa).length, 6);
  t.equal(labNamespaces(pb).length, 6);
  // Same addresses in both, separate worlds.
  const ra = await a.probe('client', { proto: 'tcp', host: '198.19.0.12', port: 9000 });
  const rb = await b.probe('client', { proto: 'tcp', host: '198.19.0.12', port: 9000 });
  t.match(ra.firstLine, /^rs2 198\.18\.0\.10:/);
  t.match(rb.firstLine, /^rs2 198\.18\.0\.10:/);
  const aPids = a.processes().map((p) => p.pid);
  const bPids = b.processes().map((p) => p.pid);

  await a.down();
  t.same(labNamespaces(pa), []);
  t.ok(aPids.every((p) => !pidAlive(p)));
  t.equal(labNamespaces(pb).length, 6, 'the other lab is untouched');
  t.ok(bPids.every((p) => pidAlive(p)));
  const rb2 = await b.probe('client', { proto: 'udp', host: '198.19.0.11', port: 9000, send: 'still' });
  t.match(rb2.received, /^rs1 198\.18\.0\.10:\d+ still$/);
  await b.down();
  t.same(labNamespaces(pb), []);
  t.ok(bPids.every((p) => !pidAlive(p)));
  t.notOk(netnsList().some((n) => n.startsWith(pa + '-') || n.startsWith(pb + '-')));
});

t.test('spawn tracks processes (log, pipe, stop); down kills the tracked ones', async (t) => {
  const prefix = uniquePrefix('s');
  const lab = await buildLab({ prefix, servers: 1, mode: 'dr', startServers: false });
  t.teardown(safeDown(lab, prefix));
  const p = lab.spawn('dir1', ['sh', '-c', 'echo started; exec sleep 600'], { name: 'sleeper' });
  t.ok(p.pid > 0);
  t.equal(p.log, `${lab.logDir}/sleeper.log`);
  t.ok(lab.processes().some((r) => r.pid === p.pid && r.ns === `${prefix}-dir1`));
  const other = lab.spawn('client', ['sleep', '600'], { name: 'other' });
  await new Promise((r) => setTimeout(r, 200));
  t.match(sh(['cat', p.log!]), /started/);
  const piped = lab.spawn('rs1', ['sh', '-c', 'echo out; echo err >&2'], { stdio: 'pipe' });
  let out = '';
  piped.child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  // 'exit' may come before the last of stdout: wait for the stream to end as well.
  const drained = new Promise((r) => piped.child.stdout!.once('close', r));
  const ex = await piped.exited;
  await drained;
  t.equal(ex.code, 0);
  t.equal(out, 'out\n');
  t.notOk(lab.processes().some((r) => r.pid === piped.pid), 'exited process dropped from the state');

  await other.stop();
  t.notOk(pidAlive(other.pid));
  t.notOk(lab.processes().some((r) => r.pid === other.pid));
  const pid = p.pid;
  const r = await lab.down();
  t.ok(r.killed.includes(pid));
  t.notOk(pidAlive(pid));
});
