// The steering program, run by a small classic-BPF interpreter (the subset it uses): every
// packet of a connection hashes to the same value in both directions and for the ICMP
// errors that quote it, so the kernel's fanout picks the same worker (the lab tests show it
// with real traffic and 2 and 4 workers).
import t from 'tap';
import { decode } from '../../src/frameio/bpf.js';
import { ip4FromString, ip4ToString } from '../../src/packet/addr.js';
import { buildFrame } from '../../src/packet/builder.js';
import { clientHash, steeringProgram, steersAsInbound } from '../../src/datapath/steering.js';

/** Runs a cBPF program over a frame (loads, ALU, jumps, scratch memory; no ancillary data). */
function runBpf(program: Uint32Array, p: Uint8Array): number {
  const insns = decode(program);
  const M = new Uint32Array(16);
  let A = 0;
  let X = 0;
  const ld = (off: number, size: number): number => {
    if (off < 0 || off + size > p.length) throw new Error(`out of bounds load at ${off}`);
    return size === 4 ? ((p[off]! << 24) | (p[off + 1]! << 16) | (p[off + 2]! << 8) | p[off + 3]!) >>> 0 : size === 2 ? (p[off]! << 8) | p[off + 1]! : p[off]!;
  };
  for (let pc = 0; pc < insns.length; pc++) {
    const { code, jt, jf, k } = insns[pc]!;
    const cls = code & 7;
    const size = [4, 2, 1, 0][(code >> 3) & 3]!;
    const mode = code & 0xe0;
    const src = code & 0x08 ? X : k;
    if (cls === 0) A = mode === 0x20 ? ld(k, size) : mode === 0x40 ? ld(X + k, size) : mode === 0x60 ? M[k]! : mode === 0 ? k >>> 0 : NaN;
    else if (cls === 1) X = mode === 0xa0 ? (p[k]! & 0xf) * 4 : mode === 0 ? k : mode === 0x60 ? M[k]! : NaN;
    else if (cls === 2) M[k] = A;
    else if (cls === 3) M[k] = X;
    else if (cls === 4) {
      const op = code & 0xf0;
      A = (op === 0x00 ? A + src : op === 0x10 ? A - src : op === 0x20 ? Math.imul(A, src) : op === 0x50 ? A & src : op === 0x40 ? A | src : op === 0xa0 ? A ^ src : op === 0x60 ? A << src : op === 0x70 ? A >>> src : NaN) >>> 0;
    } else if (cls === 5) {
      const op = code & 0xf0;
      if (op === 0x00) pc += k;
      else {
        const cond = op === 0x10 ? A === src >>> 0 : op === 0x20 ? A > src >>> 0 : op === 0x30 ? A >= src >>> 0 : (A & src) !== 0;
        pc += cond ? jt : jf;
      }
    } else if (cls === 6) return code & 0x10 ? A : k;
    else if (cls === 7) {
      if (code & 0x80) A = X;
      else X = A;
    }
    if (Number.isNaN(A) || Number.isNaN(X)) throw new Error(`unsupported instruction ${code.toString(16)}`);
  }
  throw new Error('fell off the end');
}

const VIP = '198.18.0.100';
const CLIENT = '198.18.0.10';
const RS = '198.19.0.11';
const eth = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };
const program = steeringProgram([ip4FromString('198.18.0.99'), ip4FromString(VIP)]);

t.test('both directions and the ICMP errors quoting them hash to the client endpoint', async (t) => {
  for (const [proto, cport] of [['tcp', 40000], ['udp', 5353], ['tcp', 65535]] as const) {
    const want = clientHash(ip4FromString(CLIENT), cport);
    const l4 = (sport: number, dport: number) => (proto === 'tcp' ? { tcp: { sport, dport, flags: 0x10 } } : { udp: { sport, dport } });
    const request = buildFrame({ eth, ipv4: { src: CLIENT, dst: VIP }, ...l4(cport, 80) });
    const reply = buildFrame({ eth, ipv4: { src: RS, dst: CLIENT }, ...l4(8080, cport) });
    const withOptions = buildFrame({ eth, ipv4: { src: CLIENT, dst: VIP, options: '01010101' }, ...l4(cport, 80) });
    const errToVip = buildFrame({ eth, ipv4: { src: CLIENT, dst: VIP }, icmp: { type: 3, code: 4, rest: 1400, quote: { ipv4: { src: VIP, dst: CLIENT }, ...l4(80, cport) }, quoteLen: 28 } });
    const errFromServer = buildFrame({ eth, ipv4: { src: RS, dst: CLIENT }, icmp: { type: 3, code: 3, quote: { ipv4: { src: CLIENT, dst: RS }, ...l4(cport, 8080) }, quoteLen: 28 } });
    t.equal(runBpf(program, request), want, `${proto}: client -> VIP`);
    t.equal(runBpf(program, reply), want, `${proto}: real server -> client (NAT reply)`);
    t.equal(runBpf(program, withOptions), want, `${proto}: with IPv4 options`);
    t.equal(runBpf(program, errToVip), want, `${proto}: ICMP error to the VIP quoting a reply`);
    t.equal(runBpf(program, errFromServer), want, `${proto}: ICMP error from the server quoting a request`);
  }
  t.equal(runBpf(program, buildFrame({ eth, arp: { op: 1, spa: CLIENT, tpa: VIP } })), 0, 'ARP goes to worker 0');
  t.equal(runBpf(program, buildFrame({ eth, ipv6: { src: 'fd00::1', dst: 'fd00::2' }, udp: { sport: 1, dport: 2 } })), 0, 'IPv6 goes to worker 0');
  const ports = new Set<number>();
  for (let p = 1024; p < 1024 + 4096; p++) ports.add(clientHash(ip4FromString(CLIENT), p) % 2);
  t.same([...ports].sort(), [0, 1], 'ports of one client spread over two workers');
});

// ---- destination prefixes (firewall-mark rules) ----

const ip = ip4FromString;
/** A TCP frame src:sport -> dst:dport. */
const tcpFrame = (src: number, sport: number, dst: number, dport: number) => buildFrame({ eth, ipv4: { src: ip4ToString(src), dst: ip4ToString(dst) }, tcp: { sport, dport, flags: 0x10 } });

t.test('a destination inside a prefix counts as a VIP: hashed by the source endpoint', async (t) => {
  const prefixes = [
    { net: ip('10.0.0.0'), len: 8 },
    { net: ip('192.0.2.128'), len: 25 },
    { net: ip('198.51.100.7'), len: 32 },
  ];
  const withPrefixes = steeringProgram([ip(VIP)], prefixes);
  const client = ip(CLIENT);
  const other = ip('203.0.113.5');
  for (const dst of ['10.0.0.0', '10.1.2.3', '10.255.255.255', '192.0.2.128', '192.0.2.255', '198.51.100.7', VIP]) {
    t.equal(runBpf(withPrefixes, tcpFrame(client, 40000, ip(dst), 80)), clientHash(client, 40000), `to ${dst}: source endpoint`);
    t.ok(steersAsInbound(ip(dst), [ip(VIP)], prefixes), `steersAsInbound(${dst})`);
  }
  for (const dst of ['11.0.0.1', '9.255.255.255', '192.0.2.127', '198.51.100.8', CLIENT]) {
    t.equal(runBpf(withPrefixes, tcpFrame(other, 8080, ip(dst), 40001)), clientHash(ip(dst), 40001), `to ${dst}: destination endpoint`);
    t.notOk(steersAsInbound(ip(dst), [ip(VIP)], prefixes), `steersAsInbound(${dst})`);
  }
  const errToPrefix = buildFrame({ eth, ipv4: { src: CLIENT, dst: '10.9.9.9' }, icmp: { type: 3, code: 4, rest: 1400, quote: { ipv4: { src: '10.9.9.9', dst: CLIENT }, tcp: { sport: 80, dport: 40002, flags: 0x10 } }, quoteLen: 28 } });
  t.equal(runBpf(withPrefixes, errToPrefix), clientHash(client, 40002), 'an ICMP error to a prefix address hashes the quoted destination');
  t.same(steeringProgram([ip(VIP)], []), steeringProgram([ip(VIP)]), 'no prefixes: the program of the VIPs alone');
});

t.test('0.0.0.0/0 makes every IPv4 packet inbound (NAT replies then hash by the server endpoint)', async (t) => {
  const everything = steeringProgram([ip(VIP)], [{ net: 0, len: 0 }]);
  const rs = ip(RS);
  t.equal(runBpf(everything, tcpFrame(rs, 8080, ip(CLIENT), 40000)), clientHash(rs, 8080), 'a NAT reply is hashed by its source');
  t.equal(runBpf(everything, tcpFrame(ip(CLIENT), 40000, ip(VIP), 80)), clientHash(ip(CLIENT), 40000), 'a request as before');
  t.equal(runBpf(everything, buildFrame({ eth, arp: { op: 1, spa: CLIENT, tpa: VIP } })), 0, 'ARP still goes to worker 0');
  t.ok(steersAsInbound(rs, [], [{ net: 0, len: 0 }]));
  t.equal(decode(everything).length, decode(steeringProgram([])).length, 'no compares at all');
});

t.test('thousands of VIPs and prefixes: far jumps stay within cBPF limits and agree with steersAsInbound', async (t) => {
  let seed = 7;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const vips = Array.from({ length: 2500 }, (_, i) => (ip('172.16.0.0') + i * 3) >>> 0);
  const lengths = [8, 12, 16, 20, 24, 28, 30];
  const prefixes = Array.from({ length: 1200 }, (_, i) => {
    const len = lengths[i % lengths.length]!;
    return { net: (((0x64000000 + rand()) >>> 0) & ((0xffffffff << (32 - len)) >>> 0)) >>> 0, len };
  }).filter((p) => p.len > 8 || p.net >>> 24 !== 172);
  const program = steeringProgram(vips, prefixes);
  const insns = decode(program);
  t.ok(insns.length <= 4096, `${insns.length} instructions`);
  t.ok(insns.length > 3700, 'a nearly full program');
  t.ok(insns.every((i) => (i.code & 7) !== 5 || (i.code & 0xf0) === 0 || (i.jt <= 255 && i.jf <= 255)), 'conditional jumps within 255');
  const client = ip(CLIENT);
  const probe = (dst: number) => runBpf(program, tcpFrame(client, 40000, dst, 80)) === clientHash(client, 40000);
  for (const i of [0, 1, 248, 249, 250, 251, 499, 500, 1234, 2499]) t.ok(probe(vips[i]!), `VIP #${i}`);
  for (const i of [0, 1, 300, 777, prefixes.length - 1]) {
    const { net, len } = prefixes[i]!;
    t.ok(probe(net) && probe((net + 2 ** (32 - len) - 1) >>> 0), `prefix #${i} ${ip4ToString(net)}/${len}, first and last address`);
  }
  let disagree = 0;
  let inbound = 0;
  for (let k = 0; k < 3000; k++) {
    const dst = k % 3 === 0 ? vips[rand() % vips.length]! + (rand() % 3) : rand();
    const want = steersAsInbound(dst, vips, prefixes);
    if (want) inbound++;
    const hash = runBpf(program, tcpFrame(client, 40000, dst, 80));
    if (hash !== (want ? clientHash(client, 40000) : clientHash(dst, 80))) disagree++;
  }
  t.equal(disagree, 0, `the program and steersAsInbound agree (${inbound} of 3000 inbound)`);
  t.throws(() => steeringProgram(Array.from({ length: 5000 }, (_, i) => i + 1)), { code: 'UVS_STEERING_PROGRAM', message: /5000 VIPs.*classic BPF allows 4096/ });
});
