// The frame-I/O router carries real TCP and UDP between two lab namespaces: client ->
// dir1 (uvs router, kernel forwarding off) -> real server, bytes verified end to end.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { buildLab, type Lab } from '../../src/lab/index.js';
import { uniquePrefix } from '../../src/lab/testing.js';
import type { LoadSummary } from '../../src/lab/load.js';

const UVS = fileURLToPath(new URL('../../src/cli/uvs.js', import.meta.url));
const LOAD = fileURLToPath(new URL('../../src/lab/load.js', import.meta.url));

// Sends `size` random bytes through the lab's load driver (identify + echo, SHA-256 compared).
async function echoCheck(lab: Lab, host: string, size: number): Promise<LoadSummary> {
  const out = await lab.exec('client', [process.execPath, LOAD, 'tcp', host, '9000', '1', '--size', String(size), '--timeout', '20000'], { timeoutMs: 30_000 }).catch((e: { stdout?: string }) => e.stdout ?? '{}');
  return JSON.parse(out.trim().split('\n').pop() || '{}') as LoadSummary;
}

t.test('TCP and UDP through the AF_PACKET forwarder, kernel forwarding off', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('fw'), servers: 2, mode: 'routed' });
  t.teardown(() => lab.down());
  await lab.setForwarding('dir1', false);

  // Control: with nothing forwarding on dir1, the servers are unreachable (so the test can fail).
  const before = await lab.probe('client', { proto: 'tcp', host: '198.19.0.11', port: 9000, send: 'x', timeoutMs: 700 });
  t.equal(before.ok, false, 'no path to the servers without the router');

  const fwd = lab.spawn('dir1', [process.execPath, UVS, 'router', '--if', 'pub0', '--if', 'priv0'], { stdio: 'pipe', name: 'router' });
  let stdout = '';
  fwd.child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  let stderr = '';
  fwd.child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  t.teardown(() => fwd.stop());
  await new Promise((r) => setTimeout(r, 300)); // sockets open and bound

  for (const [name, addr] of [['rs1', '198.19.0.11'], ['rs2', '198.19.0.12']] as const) {
    const id = await lab.probe('client', { proto: 'tcp', host: addr, port: 9000, send: 'hello', timeoutMs: 3000 });
    t.equal(id.firstLine, `${name} 198.18.0.10:${id.local?.split(':')[1]}`, `${name} answered and saw the real client address`);
    t.match(id.received, /\nhello$/, 'echoed');
    const udp = await lab.probe('client', { proto: 'udp', host: addr, port: 9000, send: 'ping', timeoutMs: 3000 });
    t.ok(udp.ok && udp.received?.startsWith(`${name} 198.18.0.10:`) && udp.received.endsWith(' ping'), `UDP identify via ${name}`);
  }

  // Bulk: random bytes in and out, several MB so GSO super-frames cross the rings.
  for (const size of [1, 1500, 100_000, 8 * 1024 * 1024]) {
    const r = await echoCheck(lab, '198.19.0.11', size);
    t.same({ ok: r.ok, bytes: r.bytes, errors: r.errors }, { ok: 1, bytes: size, errors: {} }, `${size} random bytes echoed intact`);
  }

  await fwd.stop();
  const stats = JSON.parse(stdout.trim().split('\n').pop() || '{}');
  t.ok(stats.txFrames > 0 && stats.rxFrames >= stats.txFrames, `router moved frames (rx ${stats.rxFrames}, tx ${stats.txFrames})`);
  t.ok(stats.arpRequestsSent >= 2, 'resolved both servers and the client by ARP itself');
  t.equal(stats.malformed, 0, 'no malformed frames');
  t.equal(stats.txRingFull, 0, 'TX ring never full');
  t.match(stderr, /pub0 198\.18\.0\.2 mtu 1500; priv0 198\.19\.0\.2/, 'router described its ports');
});

t.test('router rejects bad arguments with a clear error', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('fx'), servers: 1, mode: 'routed', startServers: false });
  t.teardown(() => lab.down());
  const run = (args: string[]) =>
    lab.exec('dir1', [process.execPath, UVS, 'router', ...args]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { exitCode?: number; stderr?: string }) => ({ code: e.exitCode, stderr: e.stderr ?? '' }),
    );
  const missing = await run(['--if', 'pub0', '--if', 'nope0']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /UVS_FRAMEIO_NO_INTERFACE.*nope0/, 'names the missing interface');
  const one = await run(['--if', 'pub0']);
  t.match(one.stderr, /--if must be given at least twice/);
  const route = await run(['--if', 'pub0', '--if', 'priv0', '--route', '10.0.0.0/33,dev=priv0']);
  t.match(route.stderr, /UVS_BAD_ROUTE.*10\.0\.0\.0\/33/);
});
