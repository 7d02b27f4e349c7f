// The uvsd fix the kernel oracle led to, checked on a real uvsd with real traffic: a
// service's counters (-L --stats) keep the traffic of servers deleted from it, as IPVS's
// do (the scheduling scenarios compare this with the kernel); -Z zeroes them, and a service
// deleted and added again starts from zero.

import t from 'tap';
import { buildLab } from '../../src/lab/index.js';
import { uniquePrefix } from '../../src/lab/testing.js';
import { startUvsd } from '../control/fixtures/uvsd.js';
import { load } from '../datapath/fixtures/forward.js';

/** The service row of `-L -n --stats --exact`: Conns, InPkts, OutPkts, InBytes, OutBytes. */
function serviceRow(listing: string, vip: string): number[] {
  const line = listing.split('\n').find((l) => l.startsWith(`TCP  ${vip}:9000`));
  return (line ?? '').trim().split(/\s+/).slice(2).map(Number);
}

t.test('service counters keep a deleted server\'s traffic (kernel IPVS semantics)', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('ct'), servers: 3, mode: 'nat' });
  t.teardown(() => lab.down());
  const vip = lab.description.vip.ipv4;
  const uvsd = await startUvsd(lab, undefined, ['--interfaces', 'pub0,priv0', '--owned', lab.description.natRouter.ipv4, '--workers', '1']);
  t.teardown(() => uvsd.stop());
  const adm = (line: string): Promise<string> => uvsd.uvsadm(line.split(' '));
  const stats = async (): Promise<number[]> => serviceRow(await adm('-L -n --stats --exact'), vip);
  const servers = lab.description.servers.map((s) => s.eth0.ipv4);

  await adm(`-A -t ${vip}:9000 -s rr`);
  for (const rs of servers) await adm(`-a -t ${vip}:9000 -r ${rs}:9000 -m`);
  const r = await load(lab, 'tcp', 9000, 30, ['--concurrency', '3', '--max-bytes', '1024']);
  t.equal(r.ok, 30, '30 connections');
  // uvsd folds the workers' counters in on its estimator tick: wait for the 30 to show.
  let before: number[] = [];
  for (let i = 0; i < 50 && before[0] !== 30; i++) {
    before = await stats();
    if (before[0] !== 30) await new Promise((res) => setTimeout(res, 200));
  }
  t.equal(before[0], 30, 'the service counted 30 connections');

  await adm(`-d -t ${vip}:9000 -r ${servers[0]}:9000`);
  t.same(await stats(), before, 'after -d of a server that had 10 of them, the service still counts all 30, packets and bytes too');

  await adm('-Z');
  t.same(await stats(), [0, 0, 0, 0, 0], '-Z: zero, deleted server included');

  await adm(`-D -t ${vip}:9000`);
  await adm(`-A -t ${vip}:9000 -s rr`);
  await adm(`-a -t ${vip}:9000 -r ${servers[1]}:9000 -m`);
  t.same(await stats(), [0, 0, 0, 0, 0], 'a service deleted and added again starts from zero');
});
