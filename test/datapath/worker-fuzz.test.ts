// A million random and mutated frames through real rings into running uvs workers: the
// workers count what they cannot use, never crash or stall, and still balance afterwards.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { buildLab } from '../../src/lab/index.js';
import { pidAlive, uniquePrefix } from '../../src/lab/testing.js';
import { labConfig, load, startForward } from './fixtures/forward.js';

const FUZZ = fileURLToPath(new URL('./fixtures/fuzz-send.js', import.meta.url));

t.test('1,000,000 frames of garbage into 2 workers', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('wf'), servers: 2, mode: 'nat' });
  t.teardown(() => lab.down());
  const d = lab.description;
  const fwd = await startForward(lab, labConfig(lab, 'nat'), 2);
  const out = await lab.exec('client', [process.execPath, FUZZ, 'eth0', d.client.eth0.mac, d.directors[0].public.mac, '1000000', '7'], { timeoutMs: 120_000 });
  t.equal(JSON.parse(out).sent, 1_000_000, 'a million frames sent');
  t.ok(pidAlive(fwd.pid), 'uvs is alive');
  const after = await load(lab, 'tcp', 9000, 200, ['--concurrency', '16']);
  t.equal(after.ok, 200, `and still balances: 200 connections verified ${JSON.stringify(after.errors)}`);
  const stats = await fwd.stop();
  t.ok(stats.rxFrames > 500_000, `the workers saw ${stats.rxFrames} frames`);
  t.ok(stats.malformed > 10_000, `malformed frames counted by reason: ${stats.malformed} ${JSON.stringify(stats.dropsByReason).slice(0, 300)}`);
  t.ok(Object.keys(stats.dropsByReason).length >= 5, 'several distinct reasons');
});
