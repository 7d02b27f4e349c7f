// The connection listing (what ipvsadm -Lc shows) from a running `uvs forward`, and entries
// leaving it on schedule: UDP after the udp timeout, an idle ESTABLISHED connection after
// the tcp timeout (both set as ipvsadm --set would), a closed NAT connection in TIME_WAIT
// for 120 s, and a persistence template that outlives its timeout while it still owns a
// connection (re-armed for 60 s, as IPVS does).
import t from 'tap';
import { buildLab } from '../../src/lab/index.js';
import { uniquePrefix } from '../../src/lab/testing.js';
import { bulk, LOAD, load, startForward } from './fixtures/forward.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('listing: rows and their expiry', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('ls'), servers: 2, mode: 'nat' });
  t.teardown(() => lab.down());
  const vip = lab.description.vip.ipv4;
  const servers = lab.description.servers.map((s) => ({ address: s.eth0.ipv4, method: 'nat' }));
  const fwd = await startForward(lab, {
    interfaces: ['pub0', 'priv0'],
    owned: [lab.description.natRouter.ipv4],
    timeouts: { tcp: 3, udp: 2 },
    services: [
      { protocol: 'tcp', address: vip, port: 9000, scheduler: 'rr', servers },
      { protocol: 'udp', address: vip, port: 9000, scheduler: 'rr', servers },
      { protocol: 'tcp', address: vip, port: 9001, scheduler: 'rr', persistent: 2, servers },
    ],
  }, 2);
  const rs = new Set(lab.description.servers.map((s) => s.eth0.ipv4));
  t.same(await fwd.connections(), [], 'empty at first');

  // UDP: one exchange, an entry in state UDP for the udp timeout (2 s).
  const u = await load(lab, 'udp', 9000, 1);
  t.equal(u.ok, 1, 'UDP exchange');
  let rows = await fwd.connections();
  const udp = rows.find((r) => r.protocol === 'UDP');
  t.ok(udp, 'the UDP entry is listed');
  t.equal(udp?.state, 'UDP');
  t.match(udp?.client, /^198\.18\.0\.10:\d+$/, 'client endpoint');
  t.equal(udp?.virtual, `${vip}:9000`, 'virtual endpoint');
  t.ok(rs.has(udp!.real.split(':')[0]!) && udp!.real.endsWith(':9000'), `real server ${udp?.real}`);
  t.ok(udp!.expiresInMs > 1000 && udp!.expiresInMs <= 2000, `expires within the udp timeout (${udp?.expiresInMs} ms)`);

  // TCP held open and idle: ESTABLISHED, expiring after the tcp timeout (3 s) of silence.
  const held = lab.exec('client', [process.execPath, LOAD, 'tcp', vip, '9000', '1', '--hold', '6000', '--timeout', '2000', '--max-bytes', '10'], { timeoutMs: 20_000 }).catch(() => '');
  await sleep(800);
  rows = await fwd.connections();
  const est = rows.find((r) => r.protocol === 'TCP' && r.virtual === `${vip}:9000`);
  t.equal(est?.state, 'ESTABLISHED', 'the held connection is ESTABLISHED');
  t.ok(est && est.expiresInMs > 1500 && est.expiresInMs <= 3000, `expires within the tcp timeout (${est?.expiresInMs} ms)`);
  await sleep(1800);
  rows = await fwd.connections();
  t.notOk(rows.some((r) => r.protocol === 'UDP'), 'the UDP entry expired on schedule (2 s)');
  await sleep(1800);
  rows = await fwd.connections();
  t.notOk(rows.some((r) => r.protocol === 'TCP' && r.virtual === `${vip}:9000` && r.state === 'ESTABLISHED'), 'the idle ESTABLISHED entry expired on schedule (3 s)');
  await held;

  // A completed NAT connection (client closes first) waits in TIME_WAIT for 120 s; through
  // the persistent service it also has a template (2 s), kept while it owns the entry.
  const up = await bulk(lab, 'upload', 9001, 4096);
  t.ok(up.ok, `4 KiB uploaded through the persistent service, digest checked (${up.error ?? up.server})`);
  rows = await fwd.connections();
  const tw = rows.find((r) => !r.template && r.virtual === `${vip}:9001`);
  const tpl = rows.find((r) => r.template);
  t.ok(tw, 'the connection is listed');
  t.ok(tpl, 'its template is listed');
  t.equal(tpl?.client, '198.18.0.10:0', 'templates show client port 0');
  t.equal(tpl?.virtual, `${vip}:9001`);
  t.ok(tpl!.expiresInMs <= 2000, `the template runs for its timeout (${tpl?.expiresInMs} ms)`);
  await sleep(2500);
  rows = await fwd.connections();
  const conn = rows.find((r) => !r.template && r.virtual === `${vip}:9001`);
  t.equal(conn?.state, 'TIME_WAIT', 'the closed connection is in TIME_WAIT');
  t.ok(conn && conn.expiresInMs > 110_000 && conn.expiresInMs <= 120_000, `for 120 s (${conn?.expiresInMs} ms left)`);
  const kept = rows.find((r) => r.template);
  t.ok(kept && kept.expiresInMs > 55_000 && kept.expiresInMs <= 60_000, `the template outlived its timeout: re-armed for 60 s while it owns a connection (${kept?.expiresInMs} ms)`);
  await fwd.stop();
});
