// Native error translation and the addon loader (no sockets needed).

import t from 'tap';
import { existsSync } from 'node:fs';
import { SystemError, UvsError } from '../../src/errors.js';
import { translateNativeError } from '../../src/frameio/errors.js';
import { addonCandidates, loadNative } from '../../src/frameio/native.js';

function nativeError(code: string, syscall: string, ifname?: string, detail?: string): Error {
  const e = new Error('x') as Error & Record<string, unknown>;
  Object.assign(e, { code, syscall, reason: 'some reason', errno: 1 });
  if (ifname) e.ifname = ifname;
  if (detail) e.detail = detail;
  return e;
}

t.test('errno + syscall map to coded SystemErrors', async (t) => {
  const cases: [string, string, string, RegExp][] = [
    ['ENODEV', 'if_nametoindex', 'UVS_FRAMEIO_NO_INTERFACE', /no interface named eth9/],
    ['EPERM', 'socket(AF_PACKET)', 'UVS_FRAMEIO_PERMISSION', /eth9.*CAP_NET_RAW/],
    ['EACCES', 'setsockopt(SO_SNDBUFFORCE)', 'UVS_FRAMEIO_PERMISSION', /CAP_NET_ADMIN/],
    ['EINVAL', 'setsockopt(PACKET_RX_RING)', 'UVS_FRAMEIO_RING', /packet ring on interface eth9.*page size/],
    ['ENOMEM', 'mmap', 'UVS_FRAMEIO_RING', /mmap failed/],
    ['EINVAL', 'setsockopt(PACKET_FANOUT)', 'UVS_FRAMEIO_FANOUT', /fanout on interface eth9/],
    ['EINVAL', 'setsockopt(SO_ATTACH_FILTER)', 'UVS_FRAMEIO_FILTER', /filter rejected/],
    ['ENETDOWN', 'send', 'UVS_FRAMEIO_SYSCALL', /send failed: some reason \(ENETDOWN\)/],
  ];
  for (const [errno, syscall, code, re] of cases) {
    const out = translateNativeError(nativeError(errno, syscall), 'eth9');
    t.ok(out instanceof SystemError, `${errno} ${syscall} is a SystemError`);
    t.match(out, { code, errno, syscall, message: re }, `${errno} ${syscall} -> ${code}`);
  }
  const named = translateNativeError(nativeError('ENODEV', 'ioctl(SIOCGIFINDEX)', 'wlan7'), 'eth9') as SystemError;
  t.match(named.message, /wlan7/, 'the interface named by the native error wins');
  const detailed = translateNativeError(nativeError('ENOMEM', 'setsockopt(PACKET_TX_RING)', 'eth9', 'too big'), undefined) as SystemError;
  t.match(detailed.message, /: too big$/, 'native detail is kept');
});

t.test('argument errors become UVS_FRAMEIO_INVALID_ARGUMENT; others pass through', async (t) => {
  const te = new TypeError('fd must be an integer') as TypeError & { code?: string };
  te.code = 'ERR_INVALID_ARG';
  const out = translateNativeError(te, 'eth0');
  t.ok(out instanceof UvsError);
  t.match(out, { code: 'UVS_FRAMEIO_INVALID_ARGUMENT', message: 'fd must be an integer' });
  const plain = new RangeError('whatever');
  t.equal(translateNativeError(plain), plain);
  t.equal(translateNativeError('str'), 'str');
});

t.test('the addon is found from the package root and exports the API', async (t) => {
  const c = addonCandidates();
  t.match(c[0] ?? '', /native\/build\/Release\/uvs_frameio\.node$/);
  t.ok(existsSync(c[0]!), 'built addon exists');
  const n = loadNative();
  for (const f of ['open', 'close', 'poll', 'kick', 'fanout', 'setFanoutProgram', 'attachFilter', 'detachFilter', 'stats', 'interfaceInfo', 'sendGratuitousArp'])
    t.type((n as unknown as Record<string, unknown>)[f], 'function', f);
  t.match(n.layout, { blockStatus: 8, blockNumPackets: 12, blockFirstPacket: 16, status: 20, len: 16, mac: 24, tpacket3HdrLen: 48, sockaddrLlLen: 20, vnetHdrLen: 10 });
  t.throws(() => n.poll(-1 as number, 0), { code: 'ERR_INVALID_ARG' }, 'native argument checks');
  t.equal(n.close(987654), false, 'closing an unknown fd is refused, not forwarded to close(2)');
});
