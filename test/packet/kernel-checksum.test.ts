// Checksums cross-checked against the kernel: frames built, rewritten by src/packet (NAT
// address/port rewrites with incremental updates, partial-checksum completion) and sent
// into a real server's namespace are accepted by its TCP/UDP stack; the same frames with
// one byte corrupted are not (and the kernel counts them in InCsumErrors).
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { buildLab, type Lab } from '../../src/lab/index.js';
import { uniquePrefix } from '../../src/lab/testing.js';
import { bytesToHex, ip4FromString, ip6FromString } from '../../src/packet/addr.js';
import { buildFrame, type FrameDesc } from '../../src/packet/builder.js';
import { pseudoSumV4, fold } from '../../src/packet/checksum.js';
import { parseFrame } from '../../src/packet/frame.js';
import { FrameInfo } from '../../src/packet/info.js';
import { setDstPort, setIPv4Dst, setIPv4Src, setIPv6Dst, setSrcPort } from '../../src/packet/rewrite.js';
import { completePartialChecksum } from '../../src/packet/vnet.js';

const INJECT = fileURLToPath(new URL('./fixtures/inject.js', import.meta.url));

// A UDP sink in the server: prints each datagram's payload, one per line.
const UDP_SINK = `
const d = require('node:dgram');
for (const fam of ['udp4', 'udp6']) {
  const s = d.createSocket({ type: fam, ipv6Only: fam === 'udp6' });
  s.on('message', (m) => process.stdout.write(m.toString() + '\\n'));
  s.bind(5555, () => { if (fam === 'udp6') process.stdout.write('ready\\n'); });
}
`;
const TCP_LISTEN = `require('node:net').createServer(() => {}).listen(5556, '::', () => process.stdout.write('ready\\n'));`;

function snmp(text: string, proto: 'Udp' | 'Tcp' | 'Udp6'): number {
  if (proto === 'Udp6') return Number(/Udp6InCsumErrors\s+(\d+)/.exec(text)?.[1] ?? NaN);
  const lines = text.split('\n').filter((l) => l.startsWith(proto + ':'));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[names.indexOf('InCsumErrors')]);
}

t.test('rewritten frames are accepted by the kernel, corrupted ones are not', async (t) => {
  const lab: Lab = await buildLab({ prefix: uniquePrefix('ck'), servers: 1, mode: 'routed' });
  t.teardown(() => lab.down());
  const d = lab.description;
  const dirMac = d.directors[0].private.mac;
  const rsMac = d.servers[0]!.eth0.mac;
  const rs = d.servers[0]!.eth0.ipv4;
  const rs6 = d.servers[0]!.eth0.ipv6;
  // Frames sent from a packet socket cross the veth as CHECKSUM_NONE, so the server's stack
  // verifies every checksum itself (the corrupted controls below prove it does).

  const sink = lab.spawn('rs1', [process.execPath, '-e', UDP_SINK], { stdio: 'pipe', name: 'udpsink' });
  let received = '';
  sink.child.stdout!.setEncoding('utf8').on('data', (s: string) => (received += s));
  const listener = lab.spawn('rs1', [process.execPath, '-e', TCP_LISTEN], { stdio: 'pipe', name: 'tcplisten' });
  let listening = '';
  listener.child.stdout!.setEncoding('utf8').on('data', (s: string) => (listening += s));
  t.teardown(() => Promise.all([sink.stop(), listener.stop()]));
  for (let i = 0; i < 100 && !(received.includes('ready') && listening.includes('ready')); i++) await new Promise((r) => setTimeout(r, 50));

  const info = new FrameInfo();
  // Frames start out addressed elsewhere, as a client's packet to a VIP would be, and are NATed to rs1.
  const udp4 = (payload: string): Uint8Array => {
    const f = buildFrame({
      eth: { src: dirMac, dst: rsMac },
      ipv4: { src: '198.18.0.77', dst: '198.18.0.100', ttl: 64 },
      udp: { sport: 40000, dport: 80 },
      payload: Buffer.from(payload).toString('hex'),
    } satisfies FrameDesc);
    t.equal(parseFrame(f, 0, f.length, info), 0);
    setIPv4Dst(f, info, ip4FromString(rs));
    setDstPort(f, info, 5555);
    setIPv4Src(f, info, ip4FromString('198.19.0.2'));
    setSrcPort(f, info, 40001);
    return f;
  };
  const udp6 = (payload: string): Uint8Array => {
    const f = buildFrame({
      eth: { src: dirMac, dst: rsMac },
      ipv6: { src: d.directors[0].private.ipv6, dst: 'fd00:18::100', hlim: 64 },
      udp: { sport: 40000, dport: 80 },
      payload: Buffer.from(payload).toString('hex'),
    });
    t.equal(parseFrame(f, 0, f.length, info), 0);
    setIPv6Dst(f, info, ip6FromString(rs6), 0);
    setDstPort(f, info, 5555);
    return f;
  };
  const syn = (dport: number): Uint8Array => {
    const f = buildFrame({
      eth: { src: dirMac, dst: rsMac },
      ipv4: { src: '198.18.0.77', dst: '198.18.0.100', ttl: 64 },
      tcp: { sport: 41000 + dport, dport: 80, seq: 1000, flags: 0x02, window: 64240, options: '020405b4' },
    });
    t.equal(parseFrame(f, 0, f.length, info), 0);
    setIPv4Dst(f, info, ip4FromString(rs));
    setDstPort(f, info, 5556);
    setIPv4Src(f, info, ip4FromString('198.19.0.2'));
    return f;
  };
  // A partial-checksum frame (as a local sender with offload would hand it over): the field
  // holds the pseudo-header sum, and completePartialChecksum finishes it.
  const partial = (payload: string): Uint8Array => {
    const f = udp4(payload);
    parseFrame(f, 0, f.length, info);
    const udpLen = info.ipEnd - info.l4Offset;
    f[info.l4CsumOffset] = 0;
    f[info.l4CsumOffset + 1] = 0;
    const p = fold(pseudoSumV4(info.src4, info.dst4, 17, udpLen));
    f[info.l4CsumOffset] = p >> 8;
    f[info.l4CsumOffset + 1] = p & 0xff;
    t.equal(completePartialChecksum(f, 0, info.ipEnd, info.l4Offset, info.l4CsumOffset - info.l4Offset), 0);
    return f;
  };
  const corrupt = (f: Uint8Array): Uint8Array => {
    const c = f.slice();
    c[c.length - 1] ^= 0x5a; // last payload / option byte: only the transport checksum covers it
    return c;
  };

  const snmpBefore = await lab.exec('rs1', ['cat', '/proc/net/snmp']);
  const snmp6Before = await lab.exec('rs1', ['cat', '/proc/net/snmp6']);
  const frames = [udp4('good-udp4'), corrupt(udp4('bad-udp4')), udp6('good-udp6'), corrupt(udp6('bad-udp6')), partial('good-partial'), corrupt(partial('bad-partial')), syn(1), corrupt(syn(2))];
  const out = await lab.exec('dir1', [process.execPath, INJECT, 'priv0', '400', ...frames.map((f) => bytesToHex(f))]);
  const { answered } = JSON.parse(out) as { answered: boolean[] };
  await new Promise((r) => setTimeout(r, 200));

  const lines = received.split('\n');
  for (const good of ['good-udp4', 'good-udp6', 'good-partial']) t.ok(lines.includes(good), `${good} accepted by the UDP stack`);
  for (const bad of ['bad-udp4', 'bad-udp6', 'bad-partial']) t.notOk(lines.includes(bad), `${bad} rejected`);
  t.equal(answered[6], true, 'rewritten SYN answered with SYN-ACK');
  t.equal(answered[7], false, 'corrupted SYN not answered');

  const snmpAfter = await lab.exec('rs1', ['cat', '/proc/net/snmp']);
  const snmp6After = await lab.exec('rs1', ['cat', '/proc/net/snmp6']);
  t.equal(snmp(snmpAfter, 'Udp') - snmp(snmpBefore, 'Udp'), 2, 'kernel counted 2 UDP checksum errors');
  t.equal(snmp(snmp6After, 'Udp6') - snmp(snmp6Before, 'Udp6'), 1, 'kernel counted 1 UDPv6 checksum error');
  t.equal(snmp(snmpAfter, 'Tcp') - snmp(snmpBefore, 'Tcp'), 1, 'kernel counted 1 TCP checksum error');
});
