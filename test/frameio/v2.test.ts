// TPACKET_V2 rings (rx.version 2): frames handed over one by one (no block retire timer),
// the TX ring in V2 layout, rings combined into one buffer, and spill: a frame too big for
// its slot is read whole from the socket's receive queue (PACKET_COPY_THRESH).
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { buildLab } from '../../src/lab/index.js';
import { uniquePrefix } from '../../src/lab/testing.js';

const CHILD = fileURLToPath(new URL('./fixtures/v2-child.js', import.meta.url));

t.test('V2 rings on priv0: send through the V2 TX ring, answers from the V2 RX ring, big frames spill', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('v2'), servers: 1, mode: 'routed' });
  t.teardown(() => lab.down());
  const d = lab.description;
  const out = JSON.parse(await lab.exec('dir1', [process.execPath, CHILD, d.directors[0].private.mac, d.servers[0]!.eth0.mac])) as {
    version: { socket: number; rx: number; frameCount: number };
    small: { answer: string; spilled: boolean; truncated: boolean; vnetOffset: number; microseconds: number };
    spill: { answer: number; intact: boolean; spilled: boolean; truncated: boolean; vnetOffset: number; microseconds: number };
  };
  t.same(out.version, { socket: 2, rx: 2, frameCount: 4 * 32 }, 'both rings are V2; 4 blocks of 32 slots of 2 KiB');
  t.equal(out.small.answer, 'rs1 198.19.0.2:45680 v2 combined', 'a datagram sent through a combined V2 TX ring was answered, read from the combined V2 RX ring');
  t.equal(out.small.spilled, false, 'a frame that fits its slot is read from the ring');
  t.equal(out.small.vnetOffset, -1, 'no virtio header without vnetHdr');
  t.ok(out.spill.intact, `the 1200-byte answer came whole (${out.spill.answer} bytes of payload)`);
  t.equal(out.spill.spilled, true, 'read from the spill buffer');
  t.equal(out.spill.truncated, false, 'not cut');
  t.equal(out.spill.vnetOffset, 0, 'the spilled frame starts with its virtio header');
  t.comment(`round trips: ${out.small.microseconds.toFixed(0)} µs in slots, ${out.spill.microseconds.toFixed(0)} µs spilled (no retire timer to wait for)`);
});
