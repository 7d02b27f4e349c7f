// FrameSocket.combineRings: the rings of several sockets mapped side by side into one
// buffer (so the datapath copies RX -> TX with copyWithin) still send and receive.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { buildLab } from '../../src/lab/index.js';
import { uniquePrefix } from '../../src/lab/testing.js';

const CHILD = fileURLToPath(new URL('./fixtures/combined-child.js', import.meta.url));

t.test('rings of pub0 and priv0 in one buffer: TX and RX work through it', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('cr'), servers: 1, mode: 'routed' });
  t.teardown(() => lab.down());
  const d = lab.description;
  const out = JSON.parse(await lab.exec('dir1', [process.execPath, CHILD, d.directors[0].private.mac, d.servers[0]!.eth0.mac])) as {
    sameMemory: boolean;
    ranges: [number, number][];
    answer: string;
    detached: boolean;
  };
  t.equal(out.sameMemory, true, 'every ring is a view of the same Uint8Array');
  const sorted = [...out.ranges].sort((a, b) => a[0] - b[0]);
  t.ok(sorted.every((r, i) => i === 0 || r[0] >= sorted[i - 1]![0] + sorted[i - 1]![1]), `rings do not overlap: ${JSON.stringify(out.ranges)}`);
  t.equal(out.answer, 'rs1 198.19.0.2:45678 combined', 'a datagram sent through the combined TX ring was answered, and the answer read from the combined RX ring');
  t.equal(out.detached, true, 'release() detaches the combined buffer');
});
