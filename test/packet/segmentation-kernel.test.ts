// Kernel cross-check of gso.ts, fragment.ts and icmp-error.ts: a userspace router in dir1
// (fixtures/segmentation-relay.ts) carries the client's real traffic to the servers with a
// small MTU on the server side. The client's TSO/GSO super-frames are segmented by
// TcpSegmenter and accepted by the servers' TCP stacks (a 4 MiB stream arrives with the
// right SHA-256, no checksum errors counted); the client's stack accepts our ICMP
// frag-needed / packet-too-big (its route cache shows the MTU, and the transfers, which
// stall otherwise, complete), port unreachable (a connected UDP socket gets ECONNREFUSED)
// and time exceeded; a UDP datagram the client fragmented at 1500 is re-fragmented at 576
// by Ipv4Fragmenter and reassembled by the server.
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildLab, type Lab } from '../../src/lab/index.js';
import { uniquePrefix, waitFor } from '../../src/lab/testing.js';
import type { RelayConfig } from './fixtures/segmentation-relay.js';

const RELAY = fileURLToPath(new URL('./fixtures/segmentation-relay.js', import.meta.url));
const MTU4 = 576;
const MTU6 = 1280;
const NO_SERVICE = 9;
const BYTES = 4 << 20;

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = 0x61 + (i % 26);
  return b;
}

/** Named counter from /proc/net/snmp ("Icmp", "InCsumErrors") or /proc/net/snmp6 ("Icmp6InCsumErrors"). */
function snmp(text: string, proto: string, name: string): number {
  const lines = text.split('\n').filter((l) => l.startsWith(proto + ':'));
  if (lines.length >= 2) {
    const names = lines[0]!.split(/\s+/);
    const values = lines[1]!.split(/\s+/);
    return Number(values[names.indexOf(name)]);
  }
  return Number(new RegExp(`^${proto}${name}\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
}

// A connected UDP socket sends one datagram and reports what comes back: 'ECONNREFUSED'
// (an ICMP port unreachable matched to the socket), 'reply', or 'timeout'. ttl 0: default.
const UDP_PROBE = `
const [host, port, ttl] = process.argv.slice(1);
const s = require('node:dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4');
const done = (r) => { process.stdout.write(r + '\\n'); process.exit(0); };
s.on('error', (e) => done(e.code));
s.on('message', () => done('reply'));
s.connect(Number(port), host, () => {
  if (Number(ttl) > 0) s.setTTL(Number(ttl));
  s.send('probe');
  setTimeout(() => done('timeout'), 1500);
});
`;

t.test('GSO segments, fragments and ICMP errors are accepted by real stacks', async (t) => {
  const lab: Lab = await buildLab({ prefix: uniquePrefix('sg'), servers: 2, mode: 'routed' });
  t.teardown(() => lab.down());
  const d = lab.description;
  const dir = d.directors[0];
  const [rs1, rs2] = [d.servers[0]!.eth0, d.servers[1]!.eth0];
  const cfg: RelayConfig = {
    pub: { ifname: dir.public.name, mac: dir.public.mac },
    priv: { ifname: dir.private.name, mac: dir.private.mac },
    client: { ipv4: d.client.eth0.ipv4, ipv6: d.client.eth0.ipv6, mac: d.client.eth0.mac },
    servers: d.servers.map((s) => ({ ipv4: s.eth0.ipv4, ipv6: s.eth0.ipv6, mac: s.eth0.mac })),
    router4: dir.public.ipv4,
    router6: dir.public.ipv6,
    mtu4: MTU4,
    mtu6: MTU6,
    noServicePort: NO_SERVICE,
  };
  const relay = lab.spawn('dir1', [process.execPath, RELAY, JSON.stringify(cfg)], { stdio: 'pipe', name: 'gsorelay' });
  let relayOut = '';
  relay.child.stdout!.setEncoding('utf8').on('data', (s: string) => (relayOut += s));
  let relayErr = '';
  relay.child.stderr!.setEncoding('utf8').on('data', (s: string) => (relayErr += s));
  t.teardown(() => relay.stop());
  t.ok(await waitFor(() => relayOut.includes('READY'), 10_000), `relay ready ${relayErr}`);

  const clientSnmp0 = await lab.exec('client', ['cat', '/proc/net/snmp']);
  const clientSnmp60 = await lab.exec('client', ['cat', '/proc/net/snmp6']);
  const rsSnmp0 = await Promise.all(['rs1', 'rs2'].map((ns) => lab.exec(ns, ['cat', '/proc/net/snmp'])));
  const rsSnmp60 = await Promise.all(['rs1', 'rs2'].map((ns) => lab.exec(ns, ['cat', '/proc/net/snmp6'])));

  // 1. UDP datagram of 3000 bytes to rs2's echo: the client fragments at 1500, the relay
  //    re-fragments each fragment at 576 (offsets and MF kept), rs2 reassembles and echoes.
  //    Run first: afterwards the client's PMTU to rs1 is 576 (rs2 is untouched anyway).
  const udp = await lab.probe('client', { proto: 'udp', host: rs2.ipv4, port: 7, size: 3000, timeoutMs: 5000 });
  t.ok(udp.ok && udp.echoOk, `3000-byte UDP echoed through re-fragmentation (${udp.error ?? ''})`);

  // 2. TCP streams (4 MiB) to rs1's digest service, IPv4 and IPv6. The first super-frames
  //    are answered with frag-needed / packet-too-big; then segments fit and are forwarded.
  const want = createHash('sha256').update(pattern(BYTES)).digest('hex');
  for (const host of [rs1.ipv4, rs1.ipv6]) {
    const r = await lab.probe('client', { proto: 'tcp', host, port: 9001, size: BYTES, timeoutMs: 60_000 });
    t.ok(r.ok, `TCP to ${host} completed (${r.error ?? ''})`);
    const words = (r.received ?? '').trim().split(' ');
    t.equal(words[2], String(BYTES), `${host}: server counted ${BYTES} bytes`);
    t.equal(words[3], want, `${host}: SHA-256 of the stream matches`);
  }
  const route4 = await lab.exec('client', ['ip', '-4', 'route', 'get', rs1.ipv4]);
  const route6 = await lab.exec('client', ['ip', '-6', 'route', 'get', rs1.ipv6]);
  t.match(route4, new RegExp(`mtu ${MTU4}\\b`), `client learned PMTU ${MTU4} from our frag-needed: ${route4.trim()}`);
  t.match(route6, new RegExp(`mtu ${MTU6}\\b`), `client learned PMTU ${MTU6} from our packet-too-big: ${route6.trim()}`);

  // 3. Port unreachable: the client's connected UDP socket gets ECONNREFUSED.
  for (const host of [rs1.ipv4, rs1.ipv6]) {
    const r = (await lab.exec('client', [process.execPath, '-e', UDP_PROBE, host, String(NO_SERVICE), '0'])).trim();
    t.equal(r, 'ECONNREFUSED', `port unreachable from the relay refused the ${host} socket`);
  }
  // 4. Time exceeded: TTL / hop limit 1.
  for (const host of [rs1.ipv4, rs1.ipv6]) {
    const r = (await lab.exec('client', [process.execPath, '-e', UDP_PROBE, host, '7', '1'])).trim();
    t.equal(r, 'timeout', `TTL 1 to ${host}: no reply (time exceeded instead)`);
  }

  await new Promise((r) => setTimeout(r, 200));
  relay.child.stdin!.write('STOP\n');
  t.ok(await waitFor(() => relayOut.includes('"counters"'), 5000), 'relay reported');
  const rep = JSON.parse(relayOut.split('\n').find((l) => l.startsWith('{'))!) as { counters: Record<string, number>; drops: Record<string, number> };
  const c = rep.counters;
  t.comment(JSON.stringify(rep));
  t.ok(c.superFrames! > 0, `${c.superFrames} GSO super-frames segmented into ${c.segments} segments`);
  t.ok(c.segments! > c.superFrames!, 'more segments than super-frames');
  t.ok(c.fragmented! >= 2 && c.fragments! > c.fragmented!, `${c.fragmented} packets fragmented into ${c.fragments}`);
  t.ok(c.icmpFragNeeded! >= 1, `${c.icmpFragNeeded} frag-needed sent`);
  t.ok(c.icmpPacketTooBig! >= 1, `${c.icmpPacketTooBig} packet-too-big sent`);
  t.equal(c.icmpPortUnreach, 2, 'two port unreachables sent');
  t.equal(c.icmpTimeExceeded, 2, 'two time exceededs sent');
  t.same(rep.drops, {}, 'no frame dropped by the relay');

  const clientSnmp1 = await lab.exec('client', ['cat', '/proc/net/snmp']);
  const clientSnmp61 = await lab.exec('client', ['cat', '/proc/net/snmp6']);
  const delta = (a: string, b: string, p: string, n: string): number => snmp(b, p, n) - snmp(a, p, n);
  t.equal(delta(clientSnmp0, clientSnmp1, 'Icmp', 'InCsumErrors'), 0, 'client: no ICMP checksum errors');
  t.equal(delta(clientSnmp0, clientSnmp1, 'Icmp', 'InTimeExcds'), 1, 'client: 1 time exceeded received');
  t.ok(delta(clientSnmp0, clientSnmp1, 'Icmp', 'InDestUnreachs') >= 2, 'client: frag-needed and port unreachable received');
  t.equal(delta(clientSnmp60, clientSnmp61, 'Icmp6', 'InCsumErrors'), 0, 'client: no ICMPv6 checksum errors');
  t.equal(delta(clientSnmp60, clientSnmp61, 'Icmp6', 'InTimeExcds'), 1, 'client: 1 ICMPv6 time exceeded');
  t.ok(delta(clientSnmp60, clientSnmp61, 'Icmp6', 'InPktTooBigs') >= 1, 'client: packet too big received');
  t.equal(delta(clientSnmp60, clientSnmp61, 'Icmp6', 'InDestUnreachs'), 1, 'client: 1 ICMPv6 unreachable');
  const rsSnmp1 = await Promise.all(['rs1', 'rs2'].map((ns) => lab.exec(ns, ['cat', '/proc/net/snmp'])));
  const rsSnmp61 = await Promise.all(['rs1', 'rs2'].map((ns) => lab.exec(ns, ['cat', '/proc/net/snmp6'])));
  for (let i = 0; i < 2; i++) {
    // Tcp: counts TCP over IPv4 and IPv6 alike.
    t.equal(delta(rsSnmp0[i]!, rsSnmp1[i]!, 'Tcp', 'InCsumErrors'), 0, `rs${i + 1}: no TCP checksum errors`);
    t.equal(delta(rsSnmp0[i]!, rsSnmp1[i]!, 'Udp', 'InCsumErrors'), 0, `rs${i + 1}: no UDP checksum errors`);
    t.equal(delta(rsSnmp60[i]!, rsSnmp61[i]!, 'Udp6', 'InCsumErrors'), 0, `rs${i + 1}: no UDPv6 checksum errors`);
  }
  t.ok(delta(rsSnmp0[1]!, rsSnmp1[1]!, 'Ip', 'ReasmOKs') >= 1, 'rs2 reassembled our fragments');
});
