// Packet captures in lab namespaces (src/lab/capture.ts, with the `cap` libpcap binding):
// fields of captured packets, the filter, the bounds (max, seconds), injection (the lab has
// no ping), error reporting, and that no capture process outlives its capture.
import t from 'tap';
import { buildLab, labDown, type Lab } from '../../src/lab/index.js';
import { CAPTURE_PATH, decodeFrame, ipHeaderHex, startCapture, tcpFlagString, type CapturedPacket } from '../../src/lab/capture.js';
import { pidAlive, sh, uniquePrefix, waitFor } from '../../src/lab/testing.js';
import { buildFrame } from '../../src/packet/builder.js';

t.setTimeout(180_000);

const prefix = uniquePrefix('cap');
let lab: Lab;

t.before(async () => {
  // dr mode: the client reaches the real servers' RIPs through the switch router, so there
  // is TCP/UDP traffic without a director.
  lab = await buildLab({ prefix, servers: 1, mode: 'dr' });
});
t.teardown(async () => {
  await lab?.down().catch(() => {});
  await labDown(prefix).catch(() => {});
});

function nsPids(ns: string): number[] {
  return sh(['ip', 'netns', 'pids', ns])
    .split('\n')
    .filter((l) => /^\d+$/.test(l.trim()))
    .map(Number);
}

/** An ICMP echo request from the client to dir1's public address (by MAC: no ARP needed). */
function echoToDir1(id: number, seq: number): Uint8Array {
  const d = lab.description;
  return buildFrame({
    eth: { src: d.client.eth0.mac, dst: d.directors[0]!.public.mac },
    ipv4: { src: d.client.eth0.ipv4, dst: d.directors[0]!.public.ipv4, id: 0x4242 },
    icmp: { type: 8, id, seq },
    payload: '7576732d63617074757265', // "uvs-capture"
  });
}

t.test('decodeFrame: fields of IPv4/TCP, IPv6/UDP with extension headers, ICMP, ARP, VLAN, truncated', async (t) => {
  const tcp = decodeFrame(
    buildFrame({
      eth: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' },
      ipv4: { src: '10.0.0.1', dst: '10.0.0.2', ttl: 33, id: 777 },
      tcp: { sport: 1234, dport: 80, seq: 0xfffffff0, ack: 5, flags: 0x12 },
      payload: '414243',
    }),
  );
  t.match(tcp, {
    srcMac: '02:00:00:00:00:01',
    dstMac: '02:00:00:00:00:02',
    ethType: 0x0800,
    net: 'ipv4',
    l3Offset: 14,
    src: '10.0.0.1',
    dst: '10.0.0.2',
    proto: 'tcp',
    ttl: 33,
    ipId: 777,
    sport: 1234,
    dport: 80,
    tcpFlags: 'SA',
    seq: 0xfffffff0,
    ack: 5,
    payloadLen: 3,
    len: 14 + 20 + 20 + 3,
  });
  t.equal(tcp.hex.length, 2 * tcp.len, 'short frame: whole frame in hex');

  const udp6 = decodeFrame(
    buildFrame({
      eth: { vlans: [{ vid: 42 }] },
      ipv6: { src: 'fd00:18::10', dst: 'fd00:19:0:0:1:0:0:11', hlim: 7, ext: [{ type: 'hbh' }, { type: 'dst' }] },
      udp: { sport: 53, dport: 5353 },
      payload: '00'.repeat(200),
    }),
    64,
  );
  t.match(udp6, { vlan: 42, l3Offset: 18, net: 'ipv6', src: 'fd00:18::10', dst: 'fd00:19::1:0:0:11', ttl: 7, proto: 'udp', sport: 53, dport: 5353, payloadLen: 200 });
  t.equal(udp6.hex.length, 128, 'hexBytes bounds the hex');

  const frag6 = decodeFrame(buildFrame({ eth: {}, ipv6: { src: '::1', dst: '::2', nh: 17, ext: [{ type: 'frag', fragOffset: 8 }] }, payload: '0000' }));
  t.match(frag6, { proto: 'udp', fragment: true });
  t.notOk('sport' in frag6, 'no ports in a non-first fragment');

  const icmp = decodeFrame(buildFrame({ eth: {}, ipv4: { src: '1.2.3.4', dst: '5.6.7.8' }, icmp: { type: 3, code: 4, mtu: 1400 } }));
  t.match(icmp, { proto: 'icmp', icmpType: 3, icmpCode: 4 });

  const arp = decodeFrame(buildFrame({ eth: { src: '02:00:00:00:00:0a', dst: 'ff:ff:ff:ff:ff:ff' }, arp: { op: 1, spa: '198.18.0.10', tpa: '198.18.0.2' } }));
  t.match(arp, { net: 'arp', proto: 'arp', arpOp: 1, src: '198.18.0.10', dst: '198.18.0.2', ethType: 0x0806 });

  const cut = decodeFrame(buildFrame({ eth: {}, ipv4: { src: '1.2.3.4', dst: '5.6.7.8' }, tcp: { sport: 1, dport: 2 } }).subarray(0, 40));
  t.match(cut, { net: 'ipv4', proto: 'tcp', src: '1.2.3.4' });
  t.notOk('sport' in cut, 'truncated TCP header: no ports');
  t.same(decodeFrame(new Uint8Array(5)).net, 'other');
  const asPkt = (x: ReturnType<typeof decodeFrame>): CapturedPacket => ({ ...x, ts: 0, dir: 'in', truncated: false });
  t.equal(ipHeaderHex(asPkt(tcp)), tcp.hex.slice(28, 28 + 40), 'IPv4 header (20 bytes)');
  t.equal(ipHeaderHex(asPkt(udp6)), udp6.hex.slice(36, 36 + 80), 'IPv6 header after a VLAN tag');
  t.equal(ipHeaderHex({ ...asPkt(udp6), hex: udp6.hex.slice(0, 60) }), null, 'not within the bytes kept');
  t.equal(ipHeaderHex(asPkt(frag6))?.length, 80, 'IPv6 fixed header');
  t.equal(ipHeaderHex(asPkt(arp)), null);
  t.equal(tcpFlagString(0x14), 'RA');
  t.equal(tcpFlagString(0x11), 'FA');
});

t.test('capture on the client: injected ping and a TCP connection, with the right fields', async (t) => {
  const d = lab.description;
  const dir1 = d.directors[0]!.public;
  const rs1 = d.servers[0]!.eth0;
  const cap = startCapture(lab, 'client', { iface: 'eth0', filter: `icmp or (tcp and host ${rs1.ipv4} and port 9000)`, max: 100, seconds: 30 });
  t.teardown(() => cap.stop());
  await cap.ready;
  t.ok(nsPids(lab.ns('client')).includes(cap.pid), 'the capture runs inside the client namespace');

  // A second capture, on dir1: the injected frame arrives there as built.
  const atDir1 = startCapture(lab, 'dir1', { iface: 'pub0', filter: 'icmp', max: 10, seconds: 30 });
  t.teardown(() => atDir1.stop());
  await atDir1.ready;
  const echo = echoToDir1(0x1234, 7);
  cap.inject(echo);
  const reply = await cap.waitFor((p) => p.proto === 'icmp' && p.icmpType === 0, 5000);
  t.ok(reply, 'dir1 kernel answered the injected echo request');
  t.match(reply, {
    dir: 'in',
    srcMac: dir1.mac,
    dstMac: d.client.eth0.mac,
    net: 'ipv4',
    src: dir1.ipv4,
    dst: d.client.eth0.ipv4,
    icmpCode: 0,
    truncated: false,
  });
  t.notOk(
    cap.packets.some((p) => p.icmpType === 8),
    'the injecting capture does not see its own frame (the kernel never loops a packet socket\'s frames back to it)',
  );
  const request = await atDir1.waitFor((p) => p.icmpType === 8, 3000);
  t.match(request, { dir: 'in', srcMac: d.client.eth0.mac, dstMac: dir1.mac, ipId: 0x4242, hex: Buffer.from(echo).toString('hex') }, 'dir1 sees the injected frame byte for byte');
  // The client already has the reply, but dir1's capture may not have handed its copy over yet.
  t.match(await atDir1.waitFor((p) => p.icmpType === 0, 3000), { dir: 'out', src: dir1.ipv4 }, 'and its kernel\'s reply as outgoing');
  await atDir1.stop();
  t.ok(reply!.hex.includes('7576732d63617074757265'), 'the echo payload comes back in the reply');

  const r = await lab.probe('client', { proto: 'tcp', host: rs1.ipv4, port: 9000, send: 'hello' });
  t.equal(r.ok, true, 'TCP to rs1 works');
  const sport = Number(r.local!.split(':').pop());
  await cap.waitFor((p) => p.tcpFlags !== undefined && p.tcpFlags.includes('F') && p.dir === 'in', 3000);
  const pkts = await cap.stop();
  const conn = pkts.filter((p) => p.proto === 'tcp');
  const syn = conn.find((p) => p.tcpFlags === 'S');
  const synAck = conn.find((p) => p.tcpFlags === 'SA');
  t.match(syn, { dir: 'out', src: d.client.eth0.ipv4, dst: rs1.ipv4, sport, dport: 9000, srcMac: d.client.eth0.mac, dstMac: d.router.public.mac, ttl: 64 });
  t.match(synAck, { dir: 'in', src: rs1.ipv4, dst: d.client.eth0.ipv4, sport: 9000, dport: sport, srcMac: d.router.public.mac, ttl: 63 }, 'SYN-ACK routed by the switch router (TTL 63)');
  t.equal(synAck!.ack, (syn!.seq! + 1) >>> 0, 'SYN-ACK acknowledges the SYN');
  t.ok(conn.some((p) => p.dir === 'out' && p.payloadLen === 5), 'the 5-byte payload is seen');
  t.ok(conn.some((p) => p.dir === 'in' && (p.payloadLen ?? 0) > 0 && p.tcpFlags!.includes('P')), 'the reply data is seen');
  t.ok(pkts.every((p) => typeof p.ts === 'number' && Math.abs(p.ts - Date.now()) < 60_000), 'timestamps');
  const sorted = pkts.map((p) => p.ts);
  t.same(sorted, [...sorted].sort((a, b) => a - b), 'in capture order');
  t.notOk(pidAlive(cap.pid), 'capture process gone after stop()');
});

t.test('IPv6 fields', async (t) => {
  const d = lab.description;
  const rs1 = d.servers[0]!.eth0;
  const cap = startCapture(lab, 'client', { iface: 'eth0', filter: 'ip6 and udp port 9000', max: 10, seconds: 20 });
  t.teardown(() => cap.stop());
  await cap.ready;
  const r = await lab.probe('client', { proto: 'udp', host: rs1.ipv6, port: 9000, send: 'six' });
  t.equal(r.ok, true);
  const reply = await cap.waitFor((p) => p.dir === 'in', 3000);
  t.match(reply, { net: 'ipv6', ethType: 0x86dd, proto: 'udp', src: rs1.ipv6, dst: d.client.eth0.ipv6, sport: 9000, ttl: 63 });
  const out = cap.packets.find((p) => p.dir === 'out');
  t.match(out, { src: d.client.eth0.ipv6, dst: rs1.ipv6, dport: 9000, payloadLen: 3 });
});

t.test('the filter selects what is captured', async (t) => {
  const rs1 = lab.description.servers[0]!.eth0;
  const cap = startCapture(lab, 'client', { iface: 'eth0', filter: 'udp and dst port 9000', max: 100, seconds: 20 });
  t.teardown(() => cap.stop());
  await cap.ready;
  await lab.probe('client', { proto: 'tcp', host: rs1.ipv4, port: 9000, send: 'x' });
  await lab.probe('client', { proto: 'udp', host: rs1.ipv4, port: 9000, send: 'y' });
  await lab.probe('client', { proto: 'udp', host: rs1.ipv4, port: 7, send: 'z' });
  await cap.waitFor(() => false, 300); // let late packets arrive
  const pkts = await cap.stop();
  t.equal(pkts.length, 1, 'one packet: the datagram to port 9000 (not TCP, not its reply, not port 7)');
  t.match(pkts[0], { proto: 'udp', dport: 9000, dir: 'out', payloadLen: 1 });
});

t.test('bounds: max packets, then seconds', async (t) => {
  const rs1 = lab.description.servers[0]!.eth0;
  const cap = startCapture(lab, 'client', { iface: 'eth0', filter: 'udp port 7', max: 3, seconds: 30 });
  await cap.ready;
  for (let i = 0; i < 4; i++) await lab.probe('client', { proto: 'udp', host: rs1.ipv4, port: 7, send: `m${i}` });
  const t0 = Date.now();
  const pkts = await cap.done;
  t.equal(pkts.length, 3, 'exactly max packets');
  t.ok(Date.now() - t0 < 5000, 'ended by itself at max');
  t.ok(await waitFor(() => !pidAlive(cap.pid), 2000), 'process exited');

  const t1 = Date.now();
  const quiet = startCapture(lab, 'client', { iface: 'eth0', filter: 'udp port 4', seconds: 1 });
  await quiet.ready;
  const none = await quiet.done;
  const ms = Date.now() - t1;
  t.same(none, [], 'nothing matched');
  t.ok(ms >= 900 && ms < 6000, `ended by itself after ~1 s (${ms} ms)`);
  t.notOk(pidAlive(quiet.pid), 'process exited');
  t.same(await quiet.stop(), [], 'stop() after the end is harmless');
  t.equal(await quiet.waitFor(() => true, 1000), null, 'waitFor after the end resolves null at once');
});

t.test('errors: bad filter, unknown interface, bad options; nothing left running', async (t) => {
  const before = nsPids(lab.ns('client'));
  const bad = startCapture(lab, 'client', { iface: 'eth0', filter: 'tcp port' });
  await t.rejects(bad.ready, { code: 'UVS_CAPTURE_START', message: /tcp port/ }, 'libpcap rejects the filter; the message says so');
  const noIf = startCapture(lab, 'client', { iface: 'nosuch0' });
  await t.rejects(noIf.ready, { code: 'UVS_CAPTURE_START', message: /no interface 'nosuch0'/ });
  t.throws(() => startCapture(lab, 'client', { iface: 'eth0', max: 0 }), { code: 'UVS_CAPTURE_BAD_OPTION' });
  t.throws(() => startCapture(lab, 'client', { iface: 'a b' }), { code: 'UVS_CAPTURE_BAD_OPTION' });
  await bad.stop();
  await noIf.stop();
  t.ok(await waitFor(() => !pidAlive(bad.pid) && !pidAlive(noIf.pid), 2000));
  t.same(nsPids(lab.ns('client')).filter((p) => !before.includes(p)), [], 'no new process in the namespace');
  t.throws(() => bad.inject(new Uint8Array(60)), { code: 'UVS_CAPTURE_CLOSED' });
});

t.test('CLI use, and the capture ends when its parent dies (stdin EOF)', async (t) => {
  // As in docs/capture.md: JSON lines on stdout, a ready line then a done line on stderr.
  const out = await lab.exec('client', [process.execPath, CAPTURE_PATH, '--if', 'eth0', '--filter', 'udp port 4', '--seconds', '0.3']);
  t.equal(out, '', 'no packets, exits after 0.3 s');

  // With --stdin, EOF on stdin (the parent died: its end of the pipe closed) ends it.
  const p = lab.spawn('client', [process.execPath, CAPTURE_PATH, '--if', 'eth0', '--seconds', '60', '--stdin', '--ready-fd', '3'], {
    name: 'capture-eof',
    stdio: 'pipe',
    readyFd: true,
  });
  let stderr = '';
  p.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  p.child.stdout!.resume();
  t.equal(await p.ready, 'ready');
  p.child.stdin!.end();
  const ex = await Promise.race([p.exited, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
  t.same(ex, { code: 0, signal: null }, 'exited on EOF');
  t.match(stderr, /"done":true,"reason":"eof"/);
  t.notOk(pidAlive(p.pid));
});
