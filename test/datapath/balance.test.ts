// Schedulers that depend on connection counts, end to end (issue 4): wlc with unequal
// weights and long-lived connections, and lblc keeping a destination on its server until
// that server is overloaded. 2 workers, so the counts the schedulers read must be global.
import t from 'tap';
import { buildLab, type Lab } from '../../src/lab/index.js';
import { uniquePrefix } from '../../src/lab/testing.js';
import { load, startForward } from './fixtures/forward.js';

function config(lab: Lab, scheduler: string, weights: number[]): Record<string, unknown> {
  const servers = lab.description.servers.map((s, i) => ({ address: s.eth0.ipv4, method: 'nat', weight: weights[i] }));
  return { interfaces: ['pub0', 'priv0'], owned: [lab.description.natRouter.ipv4], services: [{ protocol: 'tcp', address: lab.description.vip.ipv4, port: 9000, scheduler, servers }] };
}

t.test('wlc with weights 1:2:3 and long-lived connections distributes within 5% of the weights', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('wl'), servers: 3, mode: 'nat' });
  t.teardown(() => lab.down());
  const fwd = await startForward(lab, config(lab, 'wlc', [1, 2, 3]), 2);
  // 240 connections, all open at once for 4 s: each new one sees the others as active.
  const r = await load(lab, 'tcp', 9000, 240, ['--concurrency', '240', '--hold', '4000', '--max-bytes', '1024']);
  t.equal(r.ok, 240, `240 long-lived connections verified (${JSON.stringify(r.errors)})`);
  const shares = ['rs1', 'rs2', 'rs3'].map((s) => (r.servers[s] ?? 0) / r.ok);
  [1 / 6, 2 / 6, 3 / 6].forEach((want, i) => t.ok(Math.abs(shares[i]! - want) <= 0.05, `rs${i + 1}: ${(shares[i]! * 100).toFixed(1)}% (weight share ${(want * 100).toFixed(1)}%)`));
  await fwd.stop();
});

t.test('lblc keeps a destination on its server until that server is overloaded', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('lb'), servers: 3, mode: 'nat' });
  t.teardown(() => lab.down());
  const fwd = await startForward(lab, config(lab, 'lblc', [2, 2, 2]), 2);
  // One after the other: the server is never overloaded, so the VIP stays on one server.
  const seq = await load(lab, 'tcp', 9000, 30, ['--concurrency', '1', '--max-bytes', '1024']);
  t.equal(seq.ok, 30, '30 sequential connections verified');
  const names = Object.keys(seq.servers);
  t.equal(names.length, 1, `all went to one server (${JSON.stringify(seq.servers)})`);
  const home = names[0]!;
  // Held open together: once the server has more active connections than its weight (2)
  // while another is under half its weight, lblc moves on.
  const held = await load(lab, 'tcp', 9000, 9, ['--concurrency', '9', '--hold', '3000', '--max-bytes', '1024']);
  t.equal(held.ok, 9, '9 held connections verified');
  const atHome = held.servers[home] ?? 0;
  t.ok(atHome >= 3 && atHome <= 5, `the home server took its share until overloaded (${JSON.stringify(held.servers)})`);
  t.ok(Object.keys(held.servers).length >= 2, 'then other servers took the rest');
  await fwd.stop();
});
