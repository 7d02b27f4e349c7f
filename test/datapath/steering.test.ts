// The steering program, run by a small classic-BPF interpreter (the subset it uses): every
// packet of a connection hashes to the same value in both directions and for the ICMP
// errors that quote it, so the kernel's fanout picks the same worker (the lab tests show it
// with real traffic and 2 and 4 workers).
import t from 'tap';
import { decode } from '../../src/frameio/bpf.js';
import { ip4FromString } from '../../src/packet/addr.js';
import { buildFrame } from '../../src/packet/builder.js';
import { clientHash, steeringProgram } from '../../src/datapath/steering.js';

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
