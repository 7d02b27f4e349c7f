// uvs decap in the lab (mode tun: VIP on rs1's lo, servers answer the client directly).
// The director's side is played by hand-built IPIP frames sent from dir1 through an
// AF_PACKET TX ring to rs1's MAC; the proof that rs1's stack took the inner packet is its
// answer (SYN-ACK, UDP identify reply) captured on the client's eth0, from the VIP.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { buildLab, labDown, LabExecError, type Lab } from '../../src/lab/index.js';
import { labNamespaces, pidAlive, uniquePrefix } from '../../src/lab/testing.js';
import { ip4FromString } from '../../src/packet/addr.js';
import { fold, pseudoSumV4 } from '../../src/packet/checksum.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ends,
  inject,
  innerHex,
  ipipFrame,
  linkExists,
  nftTables,
  outerFrame,
  startCapture,
  startDecap,
  UVS,
  type Ends,
} from './fixtures/helpers.js';
import type { InjectResult } from './fixtures/inject.js';

t.setTimeout(240_000);

const TUN_OPEN = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'tun-open.js');
const CLIENT = '198.18.0.10';
const VIP = '198.18.0.100';
const VIP6 = 'fd00:18::100';
const CLIENT6 = 'fd00:18::10';
const TABLE_LINE = 'table ip uvs_decap';

const prefix = uniquePrefix('dc');
let lab: Lab | null = null;
t.teardown(async () => {
  if (lab) await lab.down().catch(() => {});
  await labDown(prefix).catch(() => {});
});
lab = await buildLab({ prefix, servers: 1, mode: 'tun' });
const L: Lab = lab;
const E: Ends = ends(L);
/** If this kernel has ipip after all, decap needs --force (and its nft rule keeps tunl0 out). */
const FORCE = L.description.ipip ? ['--force'] : [];

const synTo = (sport: number, dst = VIP): string => ipipFrame(E, { ipv4: { src: CLIENT, dst }, tcp: { sport, dport: 9000, seq: 1000 } });
const udpTo = (sport: number, text: string): string =>
  ipipFrame(E, { ipv4: { src: CLIENT, dst: VIP }, udp: { sport, dport: 9000 }, payload: Buffer.from(text).toString('hex') });
const protoUnreach = (r: InjectResult): number => r.icmp.filter((i) => i.type === 3 && i.code === 2 && i.quotedProto === 4 && i.from === E.rsIp).length;

async function execFails(ns: string, argv: string[]): Promise<LabExecError> {
  try {
    await L.exec(ns, argv, { timeoutMs: 20_000 });
  } catch (err) {
    if (err instanceof LabExecError) return err;
    throw err;
  }
  throw new Error(`expected ${argv.join(' ')} to fail`);
}

/** What uvs decap leaves in rs1: its nftables table, its TUN device. */
async function leftovers(): Promise<{ table: boolean; tun: boolean }> {
  return { table: (await nftTables(L)).includes(TABLE_LINE), tun: await linkExists(L, 'uvsdecap0') };
}
const NOTHING = { table: false, tun: false };

t.test('without uvs decap: no answer, and the kernel sends ICMP protocol unreachable to the director', { skip: L.description.ipip ? 'this kernel has ipip' : false }, async (t) => {
  const cap = await startCapture(L, { ifname: 'eth0', timeoutMs: 1000, want: [{ proto: 6, src: VIP, sport: 9000, dport: 40100, tcpFlags: 0x12 }] });
  const r = await inject(L, { ifname: 'priv0', frames: [{ hex: synTo(40100) }], watchMs: 400 });
  t.equal(r.sent, 1);
  t.ok(protoUnreach(r) >= 1, `ICMP protocol unreachable from ${E.rsIp}: ${JSON.stringify(r.icmp)}`);
  t.same((await cap.result).matched, [false], 'no SYN-ACK reaches the client');
});

t.test('with uvs decap: the real server answers the client directly', async (t) => {
  const d = await startDecap(L, ['--if', 'eth0', '--vip', VIP, ...FORCE]);
  t.teardown(() => d.proc.stop());
  t.equal(d.ready.ready, true);
  t.equal(d.ready.tun, 'uvsdecap0');
  t.equal(d.ready.nftTable, 'uvs_decap');
  t.same(d.ready.vips, [VIP]);
  t.ok((d.ready.localAddresses as string[]).includes(E.rsIp), 'accepts tunnels to the RIP');
  t.ok((await nftTables(L)).includes(TABLE_LINE), 'nftables table installed');
  const table = await L.exec('rs1', ['nft', 'list', 'table', 'ip', 'uvs_decap']);
  t.match(table, new RegExp(`comment "uvs decap pid=${d.proc.pid} `), 'owned by this process');
  t.match(table, /iifname "eth0" ip protocol ipencap counter packets \d+ bytes \d+ drop/);
  const link = await L.ip('rs1', ['-d', 'link', 'show', 'dev', 'uvsdecap0']);
  t.match(link, /UP/);
  t.match(link, /tun type tun pi off vnet_hdr on/);

  // Partial checksums (as a director forwarding with offloads would send them): the TCP/UDP
  // checksum field holds only the pseudo-header sum; the virtio_net_hdr says where it goes.
  const c = ip4FromString(CLIENT);
  const v = ip4FromString(VIP);
  const partialSyn = ipipFrame(E, { ipv4: { src: CLIENT, dst: VIP }, tcp: { sport: 40103, dport: 9000, seq: 7, checksum: fold(pseudoSumV4(c, v, 6, 20)) } });
  const udpText = 'partial';
  const partialUdp = ipipFrame(E, { ipv4: { src: CLIENT, dst: VIP }, udp: { sport: 40104, dport: 9000, checksum: fold(pseudoSumV4(c, v, 17, 8 + udpText.length)) }, payload: Buffer.from(udpText).toString('hex') });
  const needsCsum = (csumOffset: number) => ({ flags: 1, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 14 + 20 + 20, csumOffset });

  const cap = await startCapture(L, {
    ifname: 'eth0',
    timeoutMs: 3000,
    want: [
      { proto: 6, src: VIP, dst: CLIENT, sport: 9000, dport: 40101, tcpFlags: 0x12 },
      { proto: 17, src: VIP, dst: CLIENT, sport: 9000, dport: 40102 },
      { proto: 6, src: VIP, dst: CLIENT, sport: 9000, dport: 40103, tcpFlags: 0x12 },
      { proto: 17, src: VIP, dst: CLIENT, sport: 9000, dport: 40104 },
    ],
  });
  const r = await inject(L, {
    ifname: 'priv0',
    frames: [{ hex: synTo(40101) }, { hex: udpTo(40102, 'hello') }, { hex: partialSyn, vnet: needsCsum(16) }, { hex: partialUdp, vnet: needsCsum(6) }],
    watchMs: 300,
  });
  const got = await cap.result;
  t.same(got.matched, [true, true, true, true], `answers from the VIP: ${JSON.stringify(got.frames.slice(0, 8))}`);
  const udp = got.frames.find((f) => f.proto === 17 && f.dport === 40102);
  t.equal(udp?.payload, `rs1 ${CLIENT}:40102 hello`, 'UDP identify: the server saw the client address and port');
  t.equal(got.frames.find((f) => f.proto === 17 && f.dport === 40104)?.payload, `rs1 ${CLIENT}:40104 ${udpText}`);
  t.equal(protoUnreach(r), 0, 'no ICMP protocol unreachable to the director');

  const stats = await d.stop();
  t.equal(stats.decapsulated, 4, `counters: ${JSON.stringify(stats)}`);
  t.equal(stats.rxFrames, 4, 'only the tunnelled frames reached the ring');
  t.equal(stats.writeErrors, 0);
  t.equal(stats.bytes, 40 + 28 + 'hello'.length + 40 + 28 + udpText.length);
  t.same(await leftovers(), NOTHING, 'after SIGTERM: no nftables table, no TUN device left');
});

t.test('bad frames are counted and dropped; frames not for decap never reach it', async (t) => {
  const d = await startDecap(L, ['--vip', VIP, ...FORCE]);
  t.teardown(() => d.proc.stop());
  const cap = await startCapture(L, {
    ifname: 'eth0',
    timeoutMs: 3000,
    want: [
      { proto: 6, src: VIP, sport: 9000, dport: 40110, tcpFlags: 0x12 },
      { proto: 6, sport: 9000, dport: 40111 },
    ],
  });
  const notVip = synTo(40111, '198.18.0.99');
  const frames = [
    outerFrame(E, 4, '00'.repeat(40)), // protocol 4, payload not an IPv4 packet -> notIpip
    notVip, // -> notForVip
    outerFrame(E, 4, innerHex({ ipv4: { src: CLIENT, dst: VIP }, tcp: { sport: 40112, dport: 9000 } }), { checksum: 0x1234 }), // -> badOuter
    outerFrame(E, 4, innerHex({ ipv4: { src: CLIENT, dst: VIP, checksum: 0x4321 }, tcp: { sport: 40113, dport: 9000 } })), // -> badInner
    ipipFrame(E, { ipv4: { src: CLIENT, dst: VIP }, tcp: { sport: 40114, dport: 9000 } }, 0x03), // outer CE, inner not-ECT -> ecnDrops
    // Never reach the ring (the socket filter): plain TCP to the RIP, and IPIP to an address
    // that is not rs1's, sent to rs1's MAC.
    outerFrame(E, 6, '00'.repeat(20)),
    ipipFrame({ ...E, rsIp: '198.19.0.99' }, { ipv4: { src: CLIENT, dst: VIP }, tcp: { sport: 40115, dport: 9000 } }),
    synTo(40110), // a good one last: decapsulated
  ];
  const r = await inject(L, { ifname: 'priv0', frames: frames.map((hex) => ({ hex })), watchMs: 300 });
  t.equal(r.sent, frames.length);
  const got = await cap.result;
  t.same(got.matched, [true, false], 'only the good frame is answered');
  t.equal(protoUnreach(r), 0, 'no ICMP protocol unreachable');
  const s = await d.stop();
  t.same(
    { rxFrames: s.rxFrames, decapsulated: s.decapsulated, notIpip: s.notIpip, notForVip: s.notForVip, badOuter: s.badOuter, badInner: s.badInner, ecnDrops: s.ecnDrops, writeErrors: s.writeErrors },
    { rxFrames: 6, decapsulated: 1, notIpip: 1, notForVip: 1, badOuter: 1, badInner: 1, ecnDrops: 1, writeErrors: 0 },
    `counters: ${JSON.stringify(s)}`,
  );
  t.same(s.badOuterReasons, { BAD_IPV4_CHECKSUM: 1 });
  t.same(s.badInnerReasons, { BAD_IPV4_CHECKSUM: 1 });
  t.same(await leftovers(), NOTHING, 'after SIGTERM: no nftables table, no TUN device left');
});

t.test('nftables table: kill -9 leaves it, a restart replaces it (one table), SIGTERM removes it', async (t) => {
  const a = await startDecap(L, ['--vip', VIP, ...FORCE]);
  t.teardown(() => a.proc.stop());
  process.kill(a.proc.pid, 'SIGKILL');
  await a.proc.exited;
  t.notOk(pidAlive(a.proc.pid));
  const left = await L.exec('rs1', ['nft', 'list', 'table', 'ip', 'uvs_decap']);
  t.match(left, new RegExp(`pid=${a.proc.pid} `), 'the killed process left its table');
  t.notOk(await linkExists(L, 'uvsdecap0'), 'the TUN device went with the process');

  const b = await startDecap(L, ['--vip', VIP, ...FORCE]);
  t.teardown(() => b.proc.stop());
  t.equal(b.ready.replacedLeftoverOf, a.proc.pid, 'reports the replaced leftover');
  t.match(b.stderr(), /replaced a leftover nftables table ip uvs_decap of pid \d+/);
  const tables = await nftTables(L);
  t.equal(tables.filter((l) => l === TABLE_LINE).length, 1, `one table: ${JSON.stringify(tables)}`);
  t.match(await L.exec('rs1', ['nft', 'list', 'table', 'ip', 'uvs_decap']), new RegExp(`pid=${b.proc.pid} `), 'now owned by the new process');
  const cap = await startCapture(L, { ifname: 'eth0', timeoutMs: 3000, want: [{ proto: 6, src: VIP, sport: 9000, dport: 40120, tcpFlags: 0x12 }] });
  await inject(L, { ifname: 'priv0', frames: [{ hex: synTo(40120) }] });
  t.same((await cap.result).matched, [true], 'the restarted decap works');
  const s = await b.stop();
  t.equal(s.decapsulated, 1);
  t.same(await leftovers(), NOTHING, 'after SIGTERM: no nftables table, no TUN device left');
});

t.test('a second instance does not take over a running one', async (t) => {
  const a = await startDecap(L, ['--vip', VIP, ...FORCE]);
  t.teardown(() => a.proc.stop());
  const sameTun = await execFails('rs1', [process.execPath, UVS, 'decap', '--vip', VIP, ...FORCE]);
  t.equal(sameTun.exitCode, 1);
  t.match(sameTun.stderr, /UVS_DECAP_TUN_BUSY/);
  t.match(sameTun.stderr, /uvsdecap0/);
  const otherTun = await execFails('rs1', [process.execPath, UVS, 'decap', '--tun', 'uvsdecap1', '--vip', VIP, ...FORCE]);
  t.equal(otherTun.exitCode, 1);
  t.match(otherTun.stderr, /UVS_DECAP_BUSY/);
  t.match(otherTun.stderr, new RegExp(`pid ${a.proc.pid}`));
  t.notOk(await linkExists(L, 'uvsdecap1'), 'the refused instance removed its TUN device');
  t.match(await L.exec('rs1', ['nft', 'list', 'table', 'ip', 'uvs_decap']), new RegExp(`pid=${a.proc.pid} `), 'the table is still the first one');
  const cap = await startCapture(L, { ifname: 'eth0', timeoutMs: 3000, want: [{ proto: 6, src: VIP, sport: 9000, dport: 40130, tcpFlags: 0x12 }] });
  await inject(L, { ifname: 'priv0', frames: [{ hex: synTo(40130) }] });
  t.same((await cap.result).matched, [true], 'the first instance still works');
  await a.stop();
  t.same(await leftovers(), NOTHING, 'after SIGTERM: no nftables table, no TUN device left');
});

t.test('6in4 (--6in4): IPv6 inside IPv4 protocol 41, answered over IPv6', async (t) => {
  const d = await startDecap(L, ['--6in4', '--vip', VIP, '--vip', VIP6, ...FORCE]);
  t.teardown(() => d.proc.stop());
  t.match(await L.exec('rs1', ['nft', 'list', 'table', 'ip', 'uvs_decap']), /ip protocol \{ ipencap, ipv6 \}/);
  const sixInFour = outerFrame(E, 41, innerHex({ ipv6: { src: CLIENT6, dst: VIP6 }, tcp: { sport: 40140, dport: 9000, seq: 1 } }));
  const cap = await startCapture(L, {
    ifname: 'eth0',
    timeoutMs: 3000,
    want: [
      { proto: 6, src: VIP6, dst: CLIENT6, sport: 9000, dport: 40140, tcpFlags: 0x12 },
      { proto: 6, src: VIP, dst: CLIENT, sport: 9000, dport: 40141, tcpFlags: 0x12 },
    ],
  });
  const r = await inject(L, { ifname: 'priv0', frames: [{ hex: sixInFour }, { hex: synTo(40141) }], watchMs: 200 });
  t.same((await cap.result).matched, [true, true]);
  t.equal(r.icmp.filter((i) => i.type === 3 && i.code === 2).length, 0, 'no ICMP protocol unreachable');
  const s = await d.stop();
  t.equal(s.decapsulated, 2);
  t.equal(s.decapsulated6, 1);
  t.same(await leftovers(), NOTHING, 'after SIGTERM: no nftables table, no TUN device left');
});

t.test('strict rp_filter: off for the TUN device while running, effective values elsewhere unchanged, restored on exit', async (t) => {
  const sysctl = async (key: string): Promise<string> => (await L.exec('rs1', ['sysctl', '-n', key])).trim();
  const set = (...kv: string[]): Promise<string> => L.exec('rs1', ['sysctl', '-q', '-w', ...kv]);
  await set('net.ipv4.conf.all.rp_filter=1');
  t.teardown(() => set('net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.eth0.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0').catch(() => ''));
  const before = { eth0: await sysctl('net.ipv4.conf.eth0.rp_filter'), lo: await sysctl('net.ipv4.conf.lo.rp_filter'), default: await sysctl('net.ipv4.conf.default.rp_filter') };

  // Left alone, strict mode drops the inner packets: the route back to the client is not
  // through the TUN device.
  const plain = await startDecap(L, ['--vip', VIP, '--no-rp-filter', ...FORCE]);
  t.teardown(() => plain.proc.stop());
  let cap = await startCapture(L, { ifname: 'eth0', timeoutMs: 1000, want: [{ proto: 6, src: VIP, sport: 9000, dport: 40160, tcpFlags: 0x12 }] });
  await inject(L, { ifname: 'priv0', frames: [{ hex: synTo(40160) }] });
  t.same((await cap.result).matched, [false], 'with --no-rp-filter and all.rp_filter=1: no answer');
  t.equal((await plain.stop()).decapsulated, 1, 'decapsulated, then dropped by the stack');

  const d = await startDecap(L, ['--vip', VIP, ...FORCE]);
  t.teardown(() => d.proc.stop());
  t.match(d.stderr(), /rp_filter was 1: set to 0 while running/);
  t.same((d.ready.sysctls as Record<string, string[]>)['/proc/sys/net/ipv4/conf/all/rp_filter'], ['1', '0']);
  t.equal(await sysctl('net.ipv4.conf.all.rp_filter'), '0');
  t.equal(await sysctl('net.ipv4.conf.uvsdecap0.rp_filter'), '0');
  t.equal(await sysctl('net.ipv4.conf.eth0.rp_filter'), '1', 'eth0 raised: still strict in effect');
  t.equal(await sysctl('net.ipv4.conf.default.rp_filter'), '1', 'default raised');
  cap = await startCapture(L, { ifname: 'eth0', timeoutMs: 3000, want: [{ proto: 6, src: VIP, sport: 9000, dport: 40161, tcpFlags: 0x12 }] });
  await inject(L, { ifname: 'priv0', frames: [{ hex: synTo(40161) }] });
  t.same((await cap.result).matched, [true], 'answered');
  await d.stop();
  t.equal(await sysctl('net.ipv4.conf.all.rp_filter'), '1', 'all restored');
  t.same(
    { eth0: await sysctl('net.ipv4.conf.eth0.rp_filter'), lo: await sysctl('net.ipv4.conf.lo.rp_filter'), default: await sysctl('net.ipv4.conf.default.rp_filter') },
    before,
    'per-interface values restored',
  );
});

t.test('openTun: the device, and its errors', async (t) => {
  const out = JSON.parse(await L.exec('rs1', [process.execPath, TUN_OPEN, 'uvsdecapT'])) as Record<string, { ok?: boolean; code?: string; errno?: string; message?: string } | string>;
  t.same(out.first, { ok: true });
  t.match(out.link as string, /tun type tun pi off vnet_hdr on persist off/);
  t.match(out.second, { code: 'UVS_DECAP_TUN_BUSY', errno: 'EBUSY' });
  t.match(out.loopback, { code: 'UVS_DECAP_TUN_BUSY', errno: 'EINVAL' });
  t.match((out.loopback as { message: string }).message, /lo/);
  t.match(out.badName, { code: 'UVS_DECAP_BAD_OPTION' });
  t.equal(out.linkAfterClose, '', 'closing the fd removes the device');
});

t.test('errors say what is missing, and leave nothing behind', async (t) => {
  const noIf = await execFails('rs1', [process.execPath, UVS, 'decap', '--if', 'nosuch0', ...FORCE]);
  t.equal(noIf.exitCode, 1);
  t.match(noIf.stderr, /UVS_FRAMEIO_NO_INTERFACE/);
  t.match(noIf.stderr, /no interface named nosuch0/);
  t.same(await leftovers(), NOTHING, 'missing interface: no nftables table, no TUN device left');

  // /dev/net/tun hidden by a tmpfs in a private mount namespace.
  const noTun = await execFails('rs1', ['unshare', '-m', 'sh', '-c', 'mount -t tmpfs tmpfs /dev/net && exec "$0" "$@"', process.execPath, UVS, 'decap', ...FORCE]);
  t.equal(noTun.exitCode, 1);
  t.match(noTun.stderr, /UVS_DECAP_NO_TUN/);
  t.match(noTun.stderr, /there is no \/dev\/net\/tun/);
  t.same(await leftovers(), NOTHING, 'no /dev/net/tun: no nftables table, no TUN device left');

  const usage = await execFails('rs1', [process.execPath, UVS, 'decap', '--bogus']);
  t.equal(usage.exitCode, 2);
  t.match(usage.stderr, /usage: uvs decap/);

  const badVip = await execFails('rs1', [process.execPath, UVS, 'decap', '--vip', VIP6, ...FORCE]);
  t.equal(badVip.exitCode, 1);
  t.match(badVip.stderr, /IPv6 VIPs need --6in4/);
  t.same(await leftovers(), NOTHING, 'bad VIP: no nftables table, no TUN device left');
});

t.test('a kernel with tunl0: decap says so and exits, unless --force', { skip: L.description.ipip ? 'tunl0 is real here' : false }, async (t) => {
  // A stand-in: a device named tunl0 is what decap looks for.
  await L.ip('rs1', ['tuntap', 'add', 'dev', 'tunl0', 'mode', 'tun']);
  t.teardown(() => L.ip('rs1', ['link', 'del', 'tunl0']).catch(() => ''));
  const refused = await execFails('rs1', [process.execPath, UVS, 'decap', '--vip', VIP]);
  t.equal(refused.exitCode, 1);
  t.match(refused.stderr, /UVS_DECAP_KERNEL_IPIP/);
  t.match(refused.stderr, /tunl0 exists/);
  t.match(refused.stderr, /--force/);
  t.same(await leftovers(), NOTHING, 'refused: no nftables table, no TUN device left');
  const forced = await startDecap(L, ['--vip', VIP, '--force']);
  t.teardown(() => forced.proc.stop());
  t.equal(forced.ready.kernelIpip, true);
  const cap = await startCapture(L, { ifname: 'eth0', timeoutMs: 3000, want: [{ proto: 6, src: VIP, sport: 9000, dport: 40150, tcpFlags: 0x12 }] });
  await inject(L, { ifname: 'priv0', frames: [{ hex: synTo(40150) }] });
  t.same((await cap.result).matched, [true]);
  await forced.stop();
  t.same(await leftovers(), NOTHING, 'forced run: no nftables table, no TUN device left');
});

t.test('lab down leaves nothing of ours', async (t) => {
  // Every process running in our namespaces (decap, captures, injectors) — only ours: other
  // labs on the machine may run decap at the same time.
  const ours = labNamespaces(prefix).flatMap((ns) => execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number));
  const r = await L.down();
  lab = null;
  t.same(labNamespaces(prefix), [], 'no namespace of the prefix');
  for (const pid of r.killed) t.notOk(pidAlive(pid));
  t.same(ours.filter(pidAlive), [], 'no decap, capture or inject process of ours left');
});
