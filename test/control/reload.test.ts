// uvsd's SIGHUP under steady client load (issue 5): the config changes weights, adds a
// server and removes one; the client, holding connections open across the reload, sees
// zero failures. The removed server is drained at weight 0 while its connections finish,
// then leaves the table; the added one takes new connections.
import { writeFileSync } from 'node:fs';
import t from 'tap';
import { buildLab } from '../../src/lab/index.js';
import { uniquePrefix } from '../../src/lab/testing.js';
import { LOAD } from '../datapath/fixtures/forward.js';
import type { LoadSummary } from '../../src/lab/load.js';
import { startUvsd } from './fixtures/uvsd.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('SIGHUP under load: weights change, a server comes, one goes, no connection lost', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('rl'), servers: 4, mode: 'nat' });
  t.teardown(() => lab.down());
  const vip = lab.description.vip.ipv4;
  const rs = lab.description.servers.map((s) => s.eth0.ipv4);
  const rules = (servers: [string, number][]): string =>
    `-A -t ${vip}:9000 -s wlc\n${servers.map(([a, w]) => `-a -t ${vip}:9000 -r ${a}:9000 -m -w ${w}`).join('\n')}\n`;
  const u = await startUvsd(lab, rules([[rs[0]!, 1], [rs[1]!, 1], [rs[2]!, 1]]), ['--workers', '2', '--owned', lab.description.natRouter.ipv4]);

  // Steady load: 16 at a time, each connection held open ~3 s, for 10 s.
  const client = lab.exec('client', [process.execPath, LOAD, 'tcp', vip, '9000', '100000', '--concurrency', '16', '--hold', '3000', '--seconds', '10', '--max-bytes', '4096', '--timeout', '5000'], { timeoutMs: 60_000 }).catch((e: { stdout?: string }) => e.stdout ?? '{}');
  await sleep(4000);
  writeFileSync(u.file!, rules([[rs[1]!, 3], [rs[2]!, 1], [rs[3]!, 2]]));
  u.process.child.kill('SIGHUP');
  await sleep(500);
  const during = await u.uvsadm(['-L', '-n']);
  t.match(during, new RegExp(`-> ${rs[0]!.replace(/\./g, '\\.')}:9000 +Masq +0 +[1-9]`), `the removed server drains at weight 0 with its connections:\n${during}`);
  t.match(during, new RegExp(`-> ${rs[3]!.replace(/\./g, '\\.')}:9000 +Masq +2 `), 'the added server is in');
  const r = JSON.parse((await client).trim().split('\n').pop() || '{}') as LoadSummary;
  t.ok(r.ok > 50, `the client completed ${r.ok} connections`);
  t.equal(r.failed, 0, `none failed across the reload (${JSON.stringify(r.errors)})`);
  t.ok((r.servers.rs4 ?? 0) > 0, `the new server took connections (${JSON.stringify(r.servers)})`);
  await sleep(4500);
  const after = await u.uvsadm(['-L', '-n']);
  t.notMatch(after, new RegExp(`${rs[0]!.replace(/\./g, '\\.')}:9000`), `drained, then removed:\n${after}`);
  t.match(u.log(), /"why":"drained TCP [^"]*198\.19\.0\.11:9000".*"msg":"table applied"/, 'uvsd logged the end of the drain');

  // A broken file on SIGHUP: refused with file:line, the running table stays and serves.
  writeFileSync(u.file!, `${rules([[rs[1]!, 3]])}-a -t ${vip}:9000 -r ${rs[2]}:9000 -m -w 70000\n`);
  u.process.child.kill('SIGHUP');
  await sleep(1000);
  t.match(u.log(), new RegExp(`"msg":"reload failed: the running configuration stays"`), 'the reload is refused');
  t.match(u.log(), new RegExp(`${u.file!.replace(/[.]/g, '\\.')}:3: illegal weight specified`), 'naming file:line and what is wrong');
  t.equal(await u.uvsadm(['-L', '-n']), after, 'the running table is untouched');
  await u.stop();
});
