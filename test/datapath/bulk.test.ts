// 1 GiB through uvs, intact: NAT both ways (upload to the digest service, download over
// HTTP), DR upload (in DR only the client's direction crosses the director).
import t from 'tap';
import { buildLab } from '../../src/lab/index.js';
import { uniquePrefix } from '../../src/lab/testing.js';
import { bulk, labConfig, startForward, type Method } from './fixtures/forward.js';

const GIB = 1 << 30;

for (const method of ['nat', 'dr'] as Method[]) {
  t.test(`${method}: 1 GiB bulk transfer intact`, async (t) => {
    const lab = await buildLab({ prefix: uniquePrefix(`b${method.slice(0, 1)}`), servers: 2, mode: method });
    t.teardown(() => lab.down());
    const fwd = await startForward(lab, labConfig(lab, method), 2);
    const up = await bulk(lab, 'upload', 9001, GIB);
    t.ok(up.ok, `upload: ${up.bytes} bytes, SHA-256 equal at ${up.server} (${up.gbps?.toFixed(2)} Gbit/s)${up.error ? ' ' + up.error : ''}`);
    if (method === 'nat') {
      const down = await bulk(lab, 'download', 80, GIB);
      t.ok(down.ok, `download: ${down.bytes} bytes intact from ${down.server} (${down.gbps?.toFixed(2)} Gbit/s)${down.error ? ' ' + down.error : ''}`);
    }
    const stats = await fwd.stop();
    t.equal(stats.malformed, 0, 'no malformed frames');
    t.equal(stats.gsoDropped, 0, 'no GSO frame dropped');
  });
}
