// Error cases and socket lifecycle: missing interface, impossible rings, no privileges, close.

import t from 'tap';
import { makePair, runChild } from './fixtures/netns.js';

t.test('open on a missing interface -> UVS_FRAMEIO_NO_INTERFACE naming it', async (t) => {
  const p = makePair(t);
  const r = await runChild(t, p.a, 'open', { ifname: 'nope0', open: {} }).result;
  t.equal(r.ok, false);
  t.equal(r.error.code, 'UVS_FRAMEIO_NO_INTERFACE');
  t.equal(r.error.name, 'SystemError');
  t.equal(r.error.errno, 'ENODEV');
  t.match(r.error.message, /nope0/);
});

t.test('impossible rings -> UVS_FRAMEIO_RING', async (t) => {
  const p = makePair(t);
  const huge = await runChild(t, p.a, 'open', { ifname: p.ifA, open: { rx: { blockCount: 2 ** 31 } } }).result;
  t.equal(huge.ok, false, 'enormous block count refused');
  t.equal(huge.error.code, 'UVS_FRAMEIO_RING');
  t.equal(huge.error.errno, 'ENOMEM');
  t.equal(huge.error.syscall, 'setsockopt(PACKET_RX_RING)');
  t.match(huge.error.message, /fa0.*RX ring of \d+ bytes/);

  const unaligned = await runChild(t, p.a, 'open', { ifname: p.ifA, open: { rx: { blockSize: 5000 } } }).result;
  t.equal(unaligned.ok, false, 'block size not a page multiple refused by the kernel');
  t.equal(unaligned.error.code, 'UVS_FRAMEIO_RING');
  t.equal(unaligned.error.errno, 'EINVAL');
  t.equal(unaligned.error.syscall, 'setsockopt(PACKET_RX_RING)');
  t.match(unaligned.error.message, /fa0/);

  const txBad = await runChild(t, p.a, 'open', { ifname: p.ifA, open: { tx: { frameSize: 40 } } }).result;
  t.equal(txBad.ok, false, 'TX frame smaller than the slot header refused');
  t.equal(txBad.error.code, 'UVS_FRAMEIO_RING');
  t.equal(txBad.error.syscall, 'setsockopt(PACKET_TX_RING)');

  const ok = await runChild(t, p.a, 'open', { ifname: p.ifA, open: {} }).result;
  t.same(
    ok,
    { ok: true, geometry: { rx: { blockSize: 1 << 20, blockCount: 8, bytes: 8 << 20 }, tx: { frameSize: 2048, frameCount: 256, bytes: 256 * 2048 } } },
    'defaults: 8 x 1 MiB RX blocks, 256 x 2 KiB TX frames',
  );
});

t.test('unprivileged open -> UVS_FRAMEIO_PERMISSION naming CAP_NET_RAW', async (t) => {
  const p = makePair(t);
  const wrap = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
  const r = await runChild(t, p.a, 'open', { ifname: p.ifA, open: {} }, { wrap }).result;
  t.equal(r.ok, false);
  t.equal(r.error.code, 'UVS_FRAMEIO_PERMISSION');
  t.equal(r.error.errno, 'EPERM');
  t.equal(r.error.syscall, 'socket(AF_PACKET)');
  t.match(r.error.message, /CAP_NET_RAW/);
  t.match(r.error.message, /fa0/);
  // Reading interface information needs no privilege.
  const i = await runChild(t, p.a, 'info', { names: [p.ifA] }, { wrap }).result;
  t.equal(i[p.ifA].mac, p.macA, 'interfaceInfo works unprivileged');
});

t.test('close detaches the rings, is idempotent, and later use throws UVS_FRAMEIO_CLOSED', async (t) => {
  const p = makePair(t);
  const r = await runChild(t, p.a, 'lifecycle', { ifname: p.ifA }).result;
  t.notOk(r.crashed, 'child ran', r.crashed);
  t.same(r.before, { rx: 8 << 20, tx: 256 * 2048 }, 'rings mapped while open');
  t.same(r.after, { rx: 0, tx: 0, closed: true }, 'ArrayBuffers detached after close');
  t.equal(r.attempts.wait.error.code, 'UVS_FRAMEIO_CLOSED');
  t.equal(r.attempts.acquire.error.code, 'UVS_FRAMEIO_CLOSED');
  t.equal(r.attempts.stats.error.code, 'UVS_FRAMEIO_CLOSED');
  t.same(r.attempts.nativeCloseAgain, { ok: false }, 'native close of a closed fd is a no-op');
  t.ok(r.fdsAfter < 40, `no fd leak after 20 open/close cycles (${r.fdsAfter} fds open)`);
});
