// IPIP tunnelling end to end: uvs encapsulates to the real servers, which decapsulate with
// `uvs decap` (this kernel has no ipip module) and answer the client directly. Full-size
// segments no longer fit once 20 bytes of outer header are added, so uvs answers the
// client with ICMP fragmentation-needed (MTU 1480) and the client's TCP adapts; GSO
// super-frames are segmented in software before encapsulation.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { buildLab } from '../../src/lab/index.js';
import { uniquePrefix } from '../../src/lab/testing.js';
import { bulk, labConfig, load, startForward } from './fixtures/forward.js';

const UVS = fileURLToPath(new URL('../../src/cli/uvs.js', import.meta.url));

t.test('tun: 1000 TCP connections, 300 UDP exchanges and 256 MiB through IPIP', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('tu'), servers: 3, mode: 'tun' });
  t.teardown(() => lab.down());
  const d = lab.description;
  t.equal(d.ipip, false, 'this kernel has no ipip: the servers run uvs decap');
  for (const s of d.servers) {
    const p = lab.spawn(s.name, [process.execPath, UVS, 'decap', '--if', 'eth0', '--vip', d.vip.ipv4, '--ready-fd', '3'], { readyFd: true, name: `decap-${s.name}` });
    await p.ready;
  }
  for (const workers of [1, 2]) {
    const fwd = await startForward(lab, labConfig(lab, 'tun'), workers);
    const tcp = await load(lab, 'tcp', 9000, 1000, ['--concurrency', '32', '--max-bytes', String(1 << 20)]);
    t.equal(tcp.ok, 1000, `${workers} worker(s): 1000 TCP connections verified (${tcp.bytes} bytes echoed)`);
    t.same(tcp.errors, {}, 'no errors');
    t.same(tcp.peers, [d.vip.ipv4], 'the client talked to the VIP only');
    const counts = ['rs1', 'rs2', 'rs3'].map((s) => tcp.servers[s] ?? 0);
    t.ok(Math.max(...counts) - Math.min(...counts) <= workers, `spread evenly: ${counts.join('/')}`);
    const udp = await load(lab, 'udp', 9000, 300, ['--concurrency', '16']);
    t.equal(udp.ok, 300, `${workers} worker(s): 300 UDP request/responses verified`);
    if (workers === 1) {
      const up = await bulk(lab, 'upload', 9001, 256 << 20);
      t.ok(up.ok, `256 MiB upload intact (${up.gbps?.toFixed(2)} Gbit/s)${up.error ? ' ' + up.error : ''}`);
    }
    const stats = await fwd.stop();
    t.ok(stats.tunnelled > 1000, `uvs encapsulated ${stats.tunnelled} packets`);
    t.equal(stats.malformed, 0, 'no malformed frames');
    t.equal(stats.gsoDropped, 0, 'no GSO frame dropped');
    if (workers === 1) {
      t.ok(stats.icmpSent >= 1, `uvs sent ICMP frag-needed to the client (${stats.icmpSent})`);
      t.ok(stats.segmented > 0, `GSO super-frames segmented in software (${stats.segmented})`);
    }
  }
  const route = await lab.ip('client', ['route', 'get', d.vip.ipv4]);
  t.match(route, /mtu 1480/, `the client learnt the tunnel MTU: ${route.trim().split('\n').join(' | ')}`);
});
