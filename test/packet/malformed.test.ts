// Robustness: every golden frame truncated at every length and with its length fields
// corrupted, plus 100k seeded random/mutated frames. The parser must never throw, must
// return a known reason, must give identical results whatever lies outside the frame
// (so it never reads outside it), and on OK must describe offsets inside the frame; the
// rewrite helpers applied to whatever parsed OK must never write outside the frame.
import t from 'tap';
import * as P from '../../src/packet/index.js';
import { bytes, frames, rewrites } from '../fixtures/packet/fixtures.js';

const FLAG_SETS = [0, P.PARSE_GSO, P.PARSE_VERIFY_IPV4_CSUM | P.PARSE_VERIFY_L4_CSUM, P.PARSE_CSUM_PARTIAL | P.PARSE_GSO];
const PAD = 64;
const SENTINEL = 0xa5;

interface Seed {
  name: string;
  frame: Uint8Array;
  ether: boolean;
}

function seeds(): Seed[] {
  const out: Seed[] = frames().map((c) => ({ name: c.name, frame: bytes(c.hex), ether: c.ether }));
  for (const c of rewrites()) out.push({ name: `rw:${c.name}`, frame: bytes(c.in), ether: c.ether });
  return out;
}

const infoA = new P.FrameInfo();
const infoB = new P.FrameInfo();
const inner = new P.FrameInfo();
const work = new Uint8Array(PAD + 70000 + PAD);
const alt = new Uint8Array(PAD + 70000 + PAD);
const tx = new Uint8Array(4096);
const tun = new P.IpipTunnel();
const v6a = P.ip6FromString('2001:db8::dead:beef');
const mac = P.macFromString('02:de:ad:be:ef:01');

function parseAt(buf: Uint8Array, off: number, len: number, info: P.FrameInfo, ether: boolean, flags: number): number {
  return ether ? P.parseFrame(buf, off, len, info, flags) : P.parseIp(buf, off, len, info, flags);
}

const ETH_KEYS = ['frameStart', 'frameEnd', 'etherType', 'vlanCount', 'l3Offset'];
const VLAN0_KEYS = ['vlan0Tpid', 'vlan0Tci'];
const VLAN1_KEYS = ['vlan1Tpid', 'vlan1Tci'];
const ARP_KEYS = ['arpOp', 'arpSenderIp', 'arpTargetIp'];
const IP_KEYS = ['ipVersion', 'ipHeaderLen', 'ipEnd', 'tos', 'ttl', 'ipId', 'dontFragment', 'fragment', 'fragOffset', 'moreFragments',
  'src4', 'dst4', 'srcAddrOffset', 'dstAddrOffset', 'protocol', 'l4Offset', 'lengthFromFrame', 'csumPartial',
  'srcPort', 'dstPort', 'l4CsumOffset', 'l4HeaderLen', 'payloadOffset', 'tcpFlags', 'icmpError'];
const ICMP_KEYS = ['icmpType', 'icmpCode', 'icmpId', 'icmpMtu'];
const INNER_KEYS = ['innerL3Offset', 'innerIpVersion', 'innerIpHeaderLen', 'innerProtocol', 'innerSrc4', 'innerDst4',
  'innerSrcAddrOffset', 'innerDstAddrOffset', 'innerL4Offset', 'innerSrcPort', 'innerDstPort', 'innerL4CsumOffset', 'innerFragment'];

/** The fields FrameInfo's validity rules say are meaningful after this parse. */
function validKeys(i: P.FrameInfo): string[] {
  const keys = [...ETH_KEYS];
  if (i.vlanCount >= 1) keys.push(...VLAN0_KEYS);
  if (i.vlanCount === 2) keys.push(...VLAN1_KEYS);
  if (i.etherType === P.ETH_P_ARP) keys.push(...ARP_KEYS);
  if (i.ipVersion !== 0) keys.push(...IP_KEYS);
  const icmp = (i.ipVersion === 4 && i.protocol === P.IPPROTO_ICMP) || (i.ipVersion === 6 && i.protocol === P.IPPROTO_ICMPV6);
  if (icmp && i.l4HeaderLen !== 0) keys.push(...ICMP_KEYS);
  if (i.ipVersion !== 0 && i.icmpError === 1) {
    keys.push('innerReason');
    if (i.innerReason === P.OK) keys.push(...INNER_KEYS);
  }
  return keys;
}

function fieldsEqual(a: P.FrameInfo, b: P.FrameInfo, shift: number): string | null {
  const ra = a as unknown as Record<string, number>;
  const rb = b as unknown as Record<string, number>;
  const ka = validKeys(a);
  for (const k of ka) {
    const va = ra[k]!;
    const vb = rb[k]!;
    const isOff = (/Offset$|^ipEnd$|^frameStart$|^frameEnd$/.test(k) && k !== 'fragOffset') && va >= 0;
    if ((isOff ? va + shift : va) !== vb) return `${k}: ${va} vs ${vb}`;
  }
  return null;
}

/** Structural invariants of an OK parse; returns a complaint or null. */
function invariants(i: P.FrameInfo): string | null {
  const r = i as unknown as Record<string, unknown>;
  for (const k of validKeys(i)) if (typeof r[k] !== 'number' || Number.isNaN(r[k])) return `${k} is ${String(r[k])}`;
  if (i.l3Offset < i.frameStart || i.l3Offset > i.frameEnd) return 'l3Offset outside frame';
  if (i.ipVersion === 0) return null;
  if (!(i.l3Offset <= i.l4Offset && i.l4Offset <= i.ipEnd && i.ipEnd <= i.frameEnd)) return 'l3 <= l4 <= ipEnd <= frameEnd violated';
  if (i.l4Offset - i.l3Offset !== i.ipHeaderLen) return 'ipHeaderLen mismatch';
  if (i.l4HeaderLen > 0 && (i.l4Offset + i.l4HeaderLen > i.ipEnd || i.payloadOffset !== i.l4Offset + i.l4HeaderLen)) return 'transport header past ipEnd';
  if (i.l4CsumOffset !== -1 && (i.l4CsumOffset < i.l4Offset || i.l4CsumOffset + 2 > i.ipEnd)) return 'l4CsumOffset outside';
  if (i.srcAddrOffset < i.l3Offset || i.dstAddrOffset + (i.ipVersion === 4 ? 4 : 16) > i.l4Offset) return 'address offsets';
  if (i.icmpError === 1 && i.innerReason === P.OK) {
    if (i.innerL3Offset !== i.l4Offset + 8) return 'innerL3Offset';
    if (i.innerL4Offset > i.ipEnd || i.innerL4Offset - i.innerL3Offset !== i.innerIpHeaderLen) return 'innerL4Offset';
    if ((i.innerSrcPort !== 0 || i.innerDstPort !== 0) && i.innerL4Offset + 8 > i.ipEnd) return 'inner ports past the quote';
    if (i.innerL4CsumOffset !== -1 && (i.innerL4CsumOffset < i.innerL4Offset || i.innerL4CsumOffset + 2 > i.ipEnd)) return 'innerL4CsumOffset';
  }
  return null;
}

/** Apply every rewrite helper; they must not throw nor write outside [start, end). */
function rewriteAll(buf: Uint8Array, info: P.FrameInfo): void {
  P.setEthSrc(buf, info, mac, 0);
  P.setEthDst(buf, info, mac, 0);
  P.setEthAddrs(buf, info, mac, 0, mac, 0);
  P.setIPv4Src(buf, info, 0xfffffffe);
  P.setIPv4Dst(buf, info, 0x0a000001);
  P.setIPv6Src(buf, info, v6a, 0);
  P.setIPv6Dst(buf, info, v6a, 0);
  P.natIPv4Dst(buf, info, 0xc0000201, 8080);
  P.natIPv4Src(buf, info, 7, 0);
  P.natIPv6Dst(buf, info, v6a, 0, 443);
  P.natIPv6Src(buf, info, v6a, 0, 1);
  P.setSrcPort(buf, info, 0xffff);
  P.setDstPort(buf, info, 1);
  P.decrementTtl(buf, info);
  P.icmpInnerSetIPv4Src(buf, info, 1);
  P.icmpInnerSetIPv4Dst(buf, info, 0x80000000);
  P.icmpInnerSetIPv6Src(buf, info, v6a, 0);
  P.icmpInnerSetIPv6Dst(buf, info, v6a, 0);
  P.icmpInnerSetSrcPort(buf, info, 2);
  P.icmpInnerSetDstPort(buf, info, 3);
  if (info.ipVersion !== 0 && info.l4CsumOffset >= 0) {
    P.completePartialChecksum(buf, info.frameStart, info.ipEnd - info.frameStart, info.l4Offset - info.frameStart, info.l4CsumOffset - info.l4Offset);
  }
  P.decapIpip(buf, info, inner, 0);
  P.encapIpip(buf, info, tx, 0, tx.length, tun);
}

let checked = 0;

/**
 * The core check for one frame: parse it inside sentinel padding and again inside
 * different padding at another offset; same result; invariants; rewrites stay inside.
 */
function check(frame: Uint8Array, ether: boolean, flags: number): string | null {
  const n = frame.length;
  work.fill(SENTINEL, 0, PAD);
  work.set(frame, PAD);
  work.fill(SENTINEL, PAD + n, PAD + n + PAD);
  alt.fill(0x00, 0, PAD + 3);
  alt.set(frame, PAD + 3);
  alt.fill(0xff, PAD + 3 + n, PAD + 3 + n + PAD);
  let ra: number;
  let rb: number;
  try {
    ra = parseAt(work, PAD, n, infoA, ether, flags);
    rb = parseAt(alt, PAD + 3, n, infoB, ether, flags);
  } catch (e) {
    return `parse threw ${String(e)}`;
  }
  checked++;
  if (!(Number.isInteger(ra) && ra >= 0 && ra < P.REASON_COUNT)) return `unknown reason ${ra}`;
  if (ra !== rb) return `reason depends on bytes outside the frame: ${ra} vs ${rb}`;
  if (ra !== P.OK) return null;
  const d = fieldsEqual(infoA, infoB, 3);
  if (d) return `fields depend on bytes outside the frame: ${d}`;
  const inv = invariants(infoA);
  if (inv) return `invariant: ${inv}`;
  try {
    rewriteAll(work, infoA);
  } catch (e) {
    return `rewrite threw ${String(e)}`;
  }
  for (let i = 0; i < PAD; i++) {
    if (work[i] !== SENTINEL || work[PAD + n + i] !== SENTINEL) return 'rewrite wrote outside the frame';
  }
  return null;
}

t.test('validity key lists cover every FrameInfo field', async (t) => {
  const all = new Set([...ETH_KEYS, ...VLAN0_KEYS, ...VLAN1_KEYS, ...ARP_KEYS, ...IP_KEYS, ...ICMP_KEYS, ...INNER_KEYS, 'innerReason']);
  t.same([...all].sort(), Object.keys(new P.FrameInfo()).sort());
});

t.test('every golden frame truncated at every length', async (t) => {
  let failures = 0;
  for (const s of seeds()) {
    for (const flags of FLAG_SETS) {
      for (let len = 0; len <= s.frame.length; len++) {
        const err = check(s.frame.subarray(0, len), s.ether, flags);
        if (err && failures++ < 10) t.fail(`${s.name} cut to ${len}, flags ${flags}: ${err}`);
      }
    }
  }
  t.equal(failures, 0, `${checked} truncated parses`);
});

/** Positions of length-ish fields in a parsed frame (absolute offsets), with their width. */
function lengthFields(b: Uint8Array, ether: boolean): [number, 1 | 2, string][] {
  const i = new P.FrameInfo();
  const out: [number, 1 | 2, string][] = [];
  const r = ether ? P.parseFrame(b, 0, b.length, i, P.PARSE_GSO) : P.parseIp(b, 0, b.length, i, P.PARSE_GSO);
  if (ether) {
    out.push([12, 2, 'ethertype/TPID']);
    if (i.vlanCount > 0) out.push([16, 2, 'ethertype after tag 1']);
    if (i.vlanCount > 1) out.push([20, 2, 'ethertype after tag 2']);
  }
  if (r !== P.OK || i.ipVersion === 0) {
    if (i.etherType === P.ETH_P_ARP) out.push([i.l3Offset + 4, 1, 'ARP hlen'], [i.l3Offset + 5, 1, 'ARP plen']);
    return out;
  }
  const l3 = i.l3Offset;
  if (i.ipVersion === 4) {
    out.push([l3, 1, 'version/IHL'], [l3 + 2, 2, 'IPv4 total length'], [l3 + 6, 2, 'IPv4 flags/fragment offset'], [l3 + 9, 1, 'IPv4 protocol']);
  } else {
    out.push([l3, 1, 'IPv6 version'], [l3 + 4, 2, 'IPv6 payload length'], [l3 + 6, 1, 'IPv6 next header']);
    // Every extension header's next-header and length bytes.
    let p = l3 + 40;
    let nh = b[l3 + 6]!;
    for (let k = 0; k < 10 && p + 8 <= i.ipEnd && [0, 43, 44, 60, 51].includes(nh); k++) {
      out.push([p, 1, `ext ${k} next header`], [p + 1, 1, `ext ${k} length`]);
      if (nh === 44) out.push([p + 2, 2, `ext ${k} fragment offset`]);
      const len = nh === 44 ? 8 : nh === 51 ? (b[p + 1]! + 2) * 4 : (b[p + 1]! + 1) * 8;
      nh = b[p]!;
      p += len;
    }
  }
  const l4 = i.l4Offset;
  if (i.protocol === P.IPPROTO_TCP && l4 + 13 <= i.ipEnd) out.push([l4 + 12, 1, 'TCP data offset']);
  if (i.protocol === P.IPPROTO_UDP && l4 + 6 <= i.ipEnd) out.push([l4 + 4, 2, 'UDP length']);
  if (i.icmpError === 1 && i.innerReason === P.OK) {
    const q = i.innerL3Offset;
    out.push([i.l4Offset, 1, 'ICMP type'], [q, 1, 'quoted version/IHL']);
    if (i.innerIpVersion === 4) out.push([q + 2, 2, 'quoted total length'], [q + 6, 2, 'quoted fragment'], [q + 9, 1, 'quoted protocol']);
    else {
      out.push([q + 4, 2, 'quoted payload length'], [q + 6, 1, 'quoted next header']);
      if (i.innerL4Offset > q + 40) out.push([q + 41, 1, 'quoted ext length']);
    }
  }
  return out.filter(([off, w]) => off + w <= b.length);
}

t.test('length / IHL / data-offset / ext-length fields corrupted', async (t) => {
  let failures = 0;
  let variants = 0;
  const before = checked;
  for (const s of seeds()) {
    for (const [off, width, what] of lengthFields(s.frame, s.ether)) {
      const orig = width === 1 ? s.frame[off]! : (s.frame[off]! << 8) | s.frame[off + 1]!;
      const max = width === 1 ? 0xff : 0xffff;
      const vals = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 19, 20, 21, 0x3f, 0x40, 0x45, 0x46, 0x4f, 0x60, 0x7f, 0x80, 0xfe, 0xff,
        max, max - 1, orig - 1, orig + 1, orig ^ 0x80, s.frame.length, s.frame.length - 14, s.frame.length - 13, s.frame.length - 15]);
      for (const raw of vals) {
        const v = raw & max;
        const b = s.frame.slice();
        if (width === 1) b[off] = v;
        else {
          b[off] = v >>> 8;
          b[off + 1] = v & 0xff;
        }
        // Also with a valid IPv4 header checksum, so verification does not hide deeper paths.
        const fixed = b.slice();
        const fi = new P.FrameInfo();
        if (s.ether && P.parseFrame(fixed, 0, fixed.length, fi, P.PARSE_GSO) !== P.BAD_BOUNDS && fi.etherType === P.ETH_P_IPV4) {
          const l3 = fi.l3Offset;
          const hl = (fixed[l3]! & 15) * 4;
          if (hl >= 20 && l3 + hl <= fixed.length) P.fillIPv4HeaderChecksum(fixed, l3, hl);
        }
        for (const frame of [b, fixed]) {
          for (const flags of FLAG_SETS) {
            variants++;
            const err = check(frame, s.ether, flags);
            if (err && failures++ < 10) t.fail(`${s.name}: ${what} @${off} = ${v}, flags ${flags}: ${err}`);
          }
        }
      }
    }
  }
  t.equal(failures, 0, `${variants} corrupted variants, ${checked - before} checked`);
});

t.test('100k seeded random and mutated frames', async (t) => {
  // xorshift32: deterministic, so a failure reproduces.
  let x = 0x9e3779b9;
  const rnd = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const all = seeds();
  const prefixes = [
    [0x08, 0x00],
    [0x86, 0xdd],
    [0x08, 0x06],
    [0x81, 0x00, 0x00, 0x01, 0x08, 0x00],
    [0x88, 0xa8, 0x00, 0x01, 0x81, 0x00, 0x00, 0x02, 0x86, 0xdd],
  ];
  let failures = 0;
  const N = 100_000;
  const buf = new Uint8Array(2048);
  for (let iter = 0; iter < N; iter++) {
    let frame: Uint8Array;
    let ether = true;
    const mode = iter % 4;
    if (mode === 0) {
      // Random bytes behind a plausible Ethernet header, so deeper parsers run.
      const pre = prefixes[rnd() % prefixes.length]!;
      const len = rnd() % 300;
      for (let i = 0; i < len; i++) buf[i] = rnd() & 0xff;
      buf.set(pre, 12);
      // Bias the version nibble / IHL so IP headers often look right.
      const l3 = 12 + pre.length;
      if (len > l3 && (rnd() & 1) === 1) buf[l3] = pre[pre.length - 1] === 0xdd ? 0x60 : 0x45;
      frame = buf.slice(0, len);
    } else {
      // A golden frame with 1-8 bytes changed, sometimes truncated or extended.
      const s = all[rnd() % all.length]!;
      ether = s.ether;
      frame = s.frame.slice();
      const flips = 1 + (rnd() % 8);
      for (let k = 0; k < flips && frame.length > 0; k++) frame[rnd() % frame.length] = rnd() & 0xff;
      if (mode === 2) frame = frame.subarray(0, rnd() % (frame.length + 1));
      if (mode === 3 && (rnd() & 3) === 0) {
        const ext = new Uint8Array(frame.length + (rnd() % 64));
        ext.set(frame);
        frame = ext;
      }
    }
    const flags = FLAG_SETS[rnd() % FLAG_SETS.length]!;
    const err = check(frame, ether, flags);
    if (err && failures++ < 10) t.fail(`iteration ${iter} (${P.bytesToHex(frame)}), flags ${flags}: ${err}`);
  }
  t.equal(failures, 0, `${N} random frames`);
});
