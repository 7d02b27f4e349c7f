// The balancing datapath end to end in the lab: real TCP and UDP from the client, through
// `uvs forward` on dir1, to three real servers, with NAT and DR, with 1, 2 and 4 workers.
// Every connection is verified (echo SHA-256, the server saw the real client address, the
// client's peer is the VIP); the spread over servers and uvs's own counters are checked.
import t from 'tap';
import { buildLab } from '../../src/lab/index.js';
import { uniquePrefix } from '../../src/lab/testing.js';
import { labConfig, load, startForward, type Method } from './fixtures/forward.js';

for (const method of ['nat', 'dr'] as Method[]) {
  t.test(`${method}: 1000 TCP connections and 300 UDP exchanges through the VIP`, async (t) => {
    const lab = await buildLab({ prefix: uniquePrefix(method.slice(0, 2)), servers: 3, mode: method });
    t.teardown(() => lab.down());
    const vip = lab.description.vip.ipv4;

    // Control: nothing answers for the VIP until uvs runs.
    const before = await lab.probe('client', { proto: 'tcp', host: vip, port: 9000, send: 'x', timeoutMs: 600 });
    t.equal(before.ok, false, 'VIP unreachable without uvs');

    // 4 workers on this 2-core machine still must keep every connection on one worker.
    for (const workers of [1, 2, 4]) {
      const fwd = await startForward(lab, labConfig(lab, method), workers);
      const tcp = await load(lab, 'tcp', 9000, 1000, ['--concurrency', '32', '--max-bytes', String(1 << 20)]);
      t.equal(tcp.ok, 1000, `${workers} worker(s): 1000 TCP connections verified (${tcp.bytes} bytes echoed)`);
      t.same(tcp.errors, {}, 'no errors');
      t.same(tcp.peers, [vip], 'the client talked to the VIP only');
      const counts = ['rs1', 'rs2', 'rs3'].map((s) => tcp.servers[s] ?? 0);
      // rr: each worker keeps its own position, so servers differ by at most one per worker.
      t.ok(Math.max(...counts) - Math.min(...counts) <= workers, `spread evenly: ${counts.join('/')}`);
      const udp = await load(lab, 'udp', 9000, 300, ['--concurrency', '16']);
      t.equal(udp.ok, 300, `${workers} worker(s): 300 UDP request/responses verified`);
      t.same(udp.peers, [vip], 'UDP replies came from the VIP');
      const ucounts = ['rs1', 'rs2', 'rs3'].map((s) => udp.servers[s] ?? 0);
      // A reused client port follows its existing entry (IPVS does the same), hence the slack.
      t.ok(Math.max(...ucounts) - Math.min(...ucounts) <= workers + 3, `UDP spread evenly: ${ucounts.join('/')}`);

      const stats = await fwd.stop();
      // 1300 flows, give or take a UDP source port the client happened to reuse (the same
      // entry, as IPVS) or a TCP port reused on an entry in TIME_WAIT/CLOSE (rescheduled).
      t.ok(stats.newConnections >= 1290 && stats.newConnections <= 1305, `uvs counted ~1300 new connections (${stats.newConnections})`);
      t.equal(stats.malformed, 0, 'no malformed frames');
      t.equal(stats.txRingFull, 0, 'TX never full');
      const servers = Object.entries(stats.servers as Record<string, { conns?: number; inPkts?: number; outPkts?: number }>);
      const tcpConns = servers.filter(([k]) => k.startsWith('tcp 198.18.0.100:9000')).map(([, v]) => v.conns ?? 0);
      const sorted = [...counts].sort();
      t.ok(tcpConns.sort().every((n, i) => Math.abs(n - sorted[i]!) <= 2), `per-server connection counters (${tcpConns.join('/')}) match what the servers answered`);
      const out = servers.reduce((s, [, v]) => s + (v.outPkts ?? 0), 0);
      if (method === 'nat') t.ok(out > 0, 'NAT saw the replies (OutPkts > 0)');
      else t.equal(out, 0, 'DR never sees replies (OutPkts = 0)');
    }
  });
}
