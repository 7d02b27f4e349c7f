// The reference's config examples, loaded by uvsd and serving real traffic in the lab
// (issue 5): lvs.cf NAT (lvs-cf.md §5.1), lvs.cf DR with a firewall-mark service (§5.2)
// and keepalived.conf NAT (keepalived.md §9). Only addresses, interface names and ports are
// mapped onto the lab's (the servers' 8080 becomes 443, where the lab serves HTTP too, so
// the NAT port mapping stays), and the DNS check program becomes one that exists here;
// every other line is the reference's, health checks included. Then `uvsadm -S`,
// `-C`, `-R` reproduce the table exactly.
import t, { type Test } from 'tap';
import { buildLab, type Lab } from '../../src/lab/index.js';
import { uniquePrefix } from '../../src/lab/testing.js';
import { startUvsd, type RunningUvsd } from '../control/fixtures/uvsd.js';
import { KEEPALIVED_NAT, LVS_CF_DR, LVS_CF_NAT } from './fixtures/examples.js';

function mapped(text: string, pairs: [RegExp, string][]): string {
  return pairs.reduce((s, [from, to]) => s.replace(from, to), text);
}

const NAT_MAP: [RegExp, string][] = [
  [/203\.0\.113\.100/g, '198.18.0.100'],
  [/203\.0\.113\.101/g, '198.18.0.101'],
  [/192\.168\.10\.254/g, '198.19.0.254'],
  [/192\.168\.10\.11/g, '198.19.0.11'],
  [/192\.168\.10\.12/g, '198.19.0.12'],
  [/192\.168\.10\.21/g, '198.19.0.13'],
  [/192\.168\.10\.50/g, '198.19.0.13'],
  [/\beth0\b/g, 'pub0'],
  [/\beth1\b/g, 'priv0'],
  [/\b8080\b/g, '443'],
  [/(port = |real_server \S+ |virtual_server \S+ )53\b/g, '$19000'],
  // uvsd runs the examples' health checks: their DNS check program is not on the lab's
  // machine, so it becomes one that passes (lvs.cf expects "OK" on stdout).
  [/"\/usr\/local\/sbin\/check_dns %h"/g, '"/bin/echo OK"'],
  [/\/usr\/local\/sbin\/check_dns/g, '/bin/true'],
];

async function http(lab: Lab, host: string, port: number, n: number): Promise<Record<string, number>> {
  const by: Record<string, number> = {};
  for (const r of await lab.probeAll('client', { proto: 'http', host, port, count: n, timeoutMs: 3000 })) if (r.ok && r.server) by[r.server] = (by[r.server] ?? 0) + 1;
  return by;
}

/** Waits until every configured check has run once (the examples' health checks are live). */
async function checked(u: RunningUvsd): Promise<void> {
  for (let i = 0; i < 150 && (await u.uvsadm(['-L', '-n', '--health'])).includes('not run yet'); i++) await new Promise((r) => setTimeout(r, 100));
}

/** -S, -C, -R: the restored table saves the same. */
async function saveRestore(t: Test, u: RunningUvsd): Promise<void> {
  const saved = await u.uvsadm(['-S', '-n']);
  t.ok(saved.startsWith('-A '), `uvsadm -S -n saved the table:\n${saved}`);
  await u.uvsadm(['-C']);
  t.equal(await u.uvsadm(['-S', '-n']), '', 'cleared');
  await u.uvsadm(['-R'], saved);
  t.equal(await u.uvsadm(['-S', '-n']), saved, '-R restored exactly what -S saved');
}

t.test('lvs.cf NAT example (lvs-cf.md §5.1) serves web and UDP', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('cn'), servers: 3, mode: 'nat' });
  t.teardown(() => lab.down());
  const u = await startUvsd(lab, mapped(LVS_CF_NAT, NAT_MAP), ['--workers', '2']);
  await checked(u);
  t.notMatch(await u.uvsadm(['-L', '-n', '--health']), / down /, 'every server passes the example\'s checks');
  const web = await http(lab, '198.18.0.100', 80, 6);
  t.equal(Object.values(web).reduce((a, b) => a + b, 0), 6, `6 web requests through the VIP answered (${JSON.stringify(web)})`);
  t.equal(Object.keys(web).length, 1, 'persistent (300 s, pmask /24): one client network, one server');
  t.ok(['rs1', 'rs2'].includes(Object.keys(web)[0]!), 'a server of the web service');
  const udp = await lab.probe('client', { proto: 'udp', host: '198.18.0.101', port: 9000, send: 'q', timeoutMs: 3000 });
  t.ok(udp.ok && udp.received?.startsWith('rs3 '), `UDP service answered by its one server (${udp.received ?? udp.error})`);
  const list = await u.uvsadm(['-L', '-n']);
  t.match(list, /TCP  198\.18\.0\.100:80 wlc persistent 300 mask 255\.255\.255\.0\n/, 'listed as ipvsadm would');
  t.match(list, /  -> 198\.19\.0\.12:443 +Masq +2 /, 'web2: port 443, weight 2');
  await saveRestore(t, u);
  t.equal(Object.values(await http(lab, '198.18.0.100', 80, 2)).reduce((a, b) => a + b, 0), 2, 'still serving after -R');
  await u.stop();
});

t.test('lvs.cf DR example (lvs-cf.md §5.2): wrr 100:50 and a persistent fwmark service', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('cd'), servers: 2, mode: 'dr' });
  t.teardown(() => lab.down());
  // The second VIP on the real servers' lo too, as a DR admin configures it.
  for (const s of ['rs1', 'rs2']) await lab.ip(s, ['addr', 'add', '198.18.0.101/32', 'dev', 'lo']);
  const text = mapped(LVS_CF_DR, [
    [/192\.0\.2\.100/g, '198.18.0.100'],
    [/192\.0\.2\.101/g, '198.18.0.101'],
    [/192\.0\.2\.11/g, '198.19.0.11'],
    [/192\.0\.2\.12/g, '198.19.0.12'],
    [/192\.0\.2\.[23]\b/g, '198.18.0.2'],
    [/\beth0\b/g, 'pub0'],
  ]);
  const { writeFileSync } = await import('node:fs');
  const rules = `${lab.logDir}/marks.rules`;
  writeFileSync(rules, '-t mangle -A PREROUTING -p tcp -d 198.18.0.101/32 --dport 443 -j MARK --set-mark 80\n');
  const u = await startUvsd(lab, text, ['--workers', '2', '--mark-rules', rules]);
  await checked(u);
  t.notMatch(await u.uvsadm(['-L', '-n', '--health']), / down /, 'every server passes the example\'s checks');
  const www = await http(lab, '198.18.0.100', 80, 30);
  t.same(www, { rs1: 20, rs2: 10 }, 'wrr 100:50 over 30 requests: exactly 20/10');
  const shop = await http(lab, '198.18.0.101', 443, 4);
  t.same(shop, { rs1: 4 }, 'the fwmark 80 service (443 on the second VIP) reaches its one server');
  t.match(await u.uvsadm(['-L', '-n']), /FWM  80 wlc persistent 600\n  -> 198\.19\.0\.11:0 +Route +1 /, 'listed as FWM 80');
  await saveRestore(t, u);
  await u.stop();
});

t.test('keepalived.conf NAT example (keepalived.md §9)', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('ck'), servers: 3, mode: 'nat' });
  t.teardown(() => lab.down());
  const u = await startUvsd(lab, mapped(KEEPALIVED_NAT, NAT_MAP), ['--workers', '2']);
  await checked(u);
  t.notMatch(await u.uvsadm(['-L', '-n', '--health']), / down /, 'every server passes the example\'s checks');
  const web = await http(lab, '198.18.0.100', 80, 4);
  t.equal(Object.values(web).reduce((a, b) => a + b, 0), 4, `web through the VIP (${JSON.stringify(web)})`);
  const udp = await lab.probe('client', { proto: 'udp', host: '198.18.0.100', port: 9000, send: 'q', timeoutMs: 3000 });
  t.ok(udp.ok && udp.received?.startsWith('rs3 '), `the UDP service (${udp.received ?? udp.error})`);
  const list = await u.uvsadm(['-L', '-n']);
  t.match(list, /TCP  198\.18\.0\.100:80 wlc persistent 300 mask 255\.255\.255\.0\n/, 'persistence_granularity as the netmask');
  t.match(list, /UDP  198\.18\.0\.100:9000 rr\n/, 'the UDP service');
  await saveRestore(t, u);
  await u.stop();
});
