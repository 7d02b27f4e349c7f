// Persistence and firewall-mark services end to end (issue 4): real TCP from many client
// addresses through `uvs forward` with 2 workers, so a client's next connection often lands
// on the other worker and only the shared template table can keep it on its server.
import t, { type Test } from 'tap';
import { buildLab, type Lab } from '../../src/lab/index.js';
import { uniquePrefix } from '../../src/lab/testing.js';
import { load, startForward } from './fixtures/forward.js';

/** The client addresses buildLab gives with `clients: n` (198.18.0.10, .11, ...). */
function clientAddresses(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `198.18.0.${10 + i}`);
}

function natServers(lab: Lab, port?: number): Record<string, unknown>[] {
  return lab.description.servers.map((s) => ({ address: s.eth0.ipv4, method: 'nat', ...(port !== undefined ? { port } : {}) }));
}

function baseConfig(lab: Lab, services: Record<string, unknown>[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { interfaces: ['pub0', 'priv0'], owned: [lab.description.natRouter.ipv4], services, ...extra };
}

/** The single server each source used; fails the test if a source used more than one. */
function serverPerSource(t: Test, bySource: Record<string, Record<string, number>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [source, servers] of Object.entries(bySource)) {
    const names = Object.keys(servers);
    t.equal(names.length, 1, `${source}: every connection went to one server (${JSON.stringify(servers)})`);
    out.set(source, names[0]!);
  }
  return out;
}

t.test('persistence: a client sticks to its server, many clients spread, -M groups a network (2 workers)', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('pe'), servers: 3, mode: 'nat', clients: 48 });
  t.teardown(() => lab.down());
  const vip = lab.description.vip.ipv4;
  const sources = clientAddresses(48);
  const service = (netmask?: string): Record<string, unknown> => ({
    protocol: 'tcp', address: vip, port: 9000, scheduler: 'rr', persistent: 300, ...(netmask ? { netmask } : {}), servers: natServers(lab),
  });

  // -M 255.255.255.255 (default): per client address.
  let fwd = await startForward(lab, baseConfig(lab, [service()]), 2);
  let r = await load(lab, 'tcp', 9000, 480, ['--bind', sources.join(','), '--concurrency', '24', '--max-bytes', '4096']);
  t.equal(r.ok, 480, `480 connections from 48 clients verified (${JSON.stringify(r.errors)})`);
  let perSource = serverPerSource(t, r.bySource);
  t.equal(perSource.size, 48, 'every client was seen');
  const spread = new Map<string, number>();
  for (const s of perSource.values()) spread.set(s, (spread.get(s) ?? 0) + 1);
  t.equal(spread.size, 3, `clients spread over all three servers (${JSON.stringify(Object.fromEntries(spread))})`);
  for (const [server, n] of spread) t.ok(n >= 8, `${server} got ${n} of 48 clients`);
  let stats = await fwd.stop();
  const persist = Object.values(stats.servers as Record<string, { persist?: number }>).reduce((s, v) => s + (v.persist ?? 0), 0);
  t.equal(persist, 48, 'one persistence template per client (PersistConn summed over servers)');

  // -M 255.255.255.240: the clients of one /28 share a server.
  fwd = await startForward(lab, baseConfig(lab, [service('255.255.255.240')]), 2);
  r = await load(lab, 'tcp', 9000, 480, ['--bind', sources.join(','), '--concurrency', '24', '--max-bytes', '4096']);
  t.equal(r.ok, 480, '480 connections verified with -M 255.255.255.240');
  perSource = serverPerSource(t, r.bySource);
  const byNet = new Map<number, Set<string>>();
  for (const [source, server] of perSource) {
    const net = Number(source.split('.')[3]) >> 4;
    if (!byNet.has(net)) byNet.set(net, new Set());
    byNet.get(net)!.add(server);
  }
  for (const [net, servers] of byNet) t.equal(servers.size, 1, `198.18.0.${net * 16}/28 stuck together on ${[...servers].join(',')}`);
  t.ok(new Set([...byNet.values()].map((s) => [...s][0])).size >= 2, 'different networks went to different servers');
  stats = await fwd.stop();
  t.equal(Object.values(stats.servers as Record<string, { persist?: number }>).reduce((s, v) => s + (v.persist ?? 0), 0), byNet.size, 'one template per /28');

  // -M 255.255.255.0: the whole /24 goes to one server.
  fwd = await startForward(lab, baseConfig(lab, [service('255.255.255.0')]), 2);
  r = await load(lab, 'tcp', 9000, 240, ['--bind', sources.join(','), '--concurrency', '24', '--max-bytes', '4096']);
  t.equal(r.ok, 240, '240 connections verified with -M 255.255.255.0');
  t.equal(Object.keys(r.servers).length, 1, `the /24 stuck together (${JSON.stringify(r.servers)})`);
  await fwd.stop();
});

t.test('fwmark service with persistence: a client\'s port 80 and 443 connections go to one server (2 workers)', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('fm'), servers: 3, mode: 'nat', clients: 12 });
  t.teardown(() => lab.down());
  const vip = lab.description.vip.ipv4;
  const config = baseConfig(lab, [{ fwmark: 1, scheduler: 'rr', persistent: 300, servers: natServers(lab) }], {
    markRules: [`-t mangle -A PREROUTING -p tcp -d ${vip}/32 -m multiport --dports 80,443 -j MARK --set-mark 1`],
  });
  const fwd = await startForward(lab, config, 2);
  const seen = new Map<string, Set<string>>();
  for (const source of clientAddresses(12)) {
    const servers = new Set<string>();
    for (const port of [80, 443, 80, 443]) {
      const p = await lab.probe('client', { proto: 'http', host: vip, port, bind: source, timeoutMs: 3000 });
      t.ok(p.ok && p.status === 200, `${source} -> :${port} answered (${p.error ?? p.status})`);
      if (p.server) servers.add(p.server);
    }
    seen.set(source, servers);
    t.equal(servers.size, 1, `${source}: ports 80 and 443 went to the same server (${[...servers].join(',')})`);
  }
  const distinct = new Set([...seen.values()].map((s) => [...s][0]));
  t.ok(distinct.size >= 2, `clients spread over servers (${[...distinct].join(', ')})`);
  // A port the rules do not mark is not balanced (no address service for it).
  const other = await lab.probe('client', { proto: 'tcp', host: vip, port: 9000, send: 'x', timeoutMs: 800 });
  t.equal(other.ok, false, 'port 9000 is not part of the mark: nothing answers');
  const stats = await fwd.stop();
  t.equal(stats.newConnections, 48, 'uvs created 48 connections');
  t.equal(Object.values(stats.servers as Record<string, { persist?: number }>).reduce((s, v) => s + (v.persist ?? 0), 0), 12, 'one fwmark template per client, shared by both ports');
});
