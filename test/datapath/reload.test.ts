// A new service-table generation reaches the workers without stopping traffic: while
// connections run, a bad config is refused (the running one stays), then a config with a
// third real server is published (SIGHUP); no connection fails and the new server gets
// its share.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { buildLab } from '../../src/lab/index.js';
import { uniquePrefix } from '../../src/lab/testing.js';
import { labConfig, startForward, LOAD } from './fixtures/forward.js';

t.test('SIGHUP publishes a new generation under load', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('rl'), servers: 3, mode: 'nat' });
  t.teardown(() => lab.down());
  const d = lab.description;
  const full = labConfig(lab, 'nat') as { services: { servers: unknown[] }[] };
  const two = { ...full, services: full.services.map((s) => ({ ...s, servers: s.servers.slice(0, 2) })) };
  const fwd = await startForward(lab, two, 2);
  const running = lab.exec('client', [process.execPath, LOAD, 'tcp', d.vip.ipv4, '9000', '100000', '--size', '2000', '--concurrency', '8', '--seconds', '5', '--timeout', '3000'], { timeoutMs: 60_000 }).catch((e: { stdout?: string }) => e.stdout ?? '{}');

  await new Promise((r) => setTimeout(r, 1000));
  writeFileSync(fwd.file, '{ "interfaces": ["pub0", "priv0"], "services": [ { "protocol": "tcp" ');
  process.kill(fwd.pid, 'SIGHUP');
  await new Promise((r) => setTimeout(r, 700));
  t.match(fwd.stderr(), /reload failed, keeping the running config: UVS_CONFIG: .*not valid JSON/, 'a broken file is refused with where and what');

  writeFileSync(fwd.file, JSON.stringify(full));
  process.kill(fwd.pid, 'SIGHUP');
  await new Promise((r) => setTimeout(r, 700));
  t.match(fwd.stderr(), /reloaded .*generation 2, 4 service\(s\)/, 'the new config is generation 2');

  const load = JSON.parse(((await running) as string).trim().split('\n').pop() || '{}') as { ok: number; failed: number; servers: Record<string, number>; errors: Record<string, number> };
  t.ok(load.ok > 200, `${load.ok} connections verified during the reloads`);
  t.equal(load.failed, 0, `none failed ${JSON.stringify(load.errors)}`);
  t.ok((load.servers.rs3 ?? 0) > 0, `rs3 joined: ${JSON.stringify(load.servers)}`);
  const stats = await fwd.stop();
  t.equal(stats.snapshotsApplied, 4, 'each of the 2 workers applied 2 generations');
});
