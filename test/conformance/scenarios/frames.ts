// Frames as the scenarios compare them: the injector's output ("sent c", "out s HEX") read
// back into frames per sent segment, and a one-line description of an IPv4 frame with what
// a director decides (side, MACs, TTL, addresses, ports, flags, ICMP type) and whether its
// checksums are right, so a kernel/uvs difference reads as a difference in meaning.

export interface SeenFrame {
  side: 'c' | 's';
  frame: Uint8Array;
}

/** Frames seen after each sent segment, in order. */
export function parseInjectOutput(text: string): SeenFrame[][] {
  const groups: SeenFrame[][] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('sent ')) groups.push([]);
    const m = /^out ([cs]) ([0-9a-f]+)$/.exec(line.trim());
    if (m && groups.length > 0) groups[groups.length - 1]!.push({ side: m[1] as 'c' | 's', frame: Buffer.from(m[2]!, 'hex') });
  }
  return groups;
}

const mac = (b: Uint8Array, o: number): string => Array.from(b.subarray(o, o + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
const ip = (b: Uint8Array, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
const u16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;

function sum16(b: Uint8Array, start: number, end: number, initial = 0): number {
  let s = initial;
  for (let i = start; i + 1 < end; i += 2) s += u16(b, i);
  if ((end - start) & 1) s += b[end - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function tcpFlags(f: number): string {
  return ['F', 'S', 'R', 'P', 'A', 'U'].filter((_, i) => f & (1 << i)).join('');
}

export function describeFrame(side: 'c' | 's', b: Uint8Array): string {
  const l3 = 14;
  const ihl = (b[l3]! & 0x0f) * 4;
  const total = u16(b, l3 + 2);
  const proto = b[l3 + 9]!;
  const l4 = l3 + ihl;
  const end = Math.min(b.length, l3 + total);
  const ipOk = sum16(b, l3, l3 + ihl) === 0xffff;
  const pseudo = sum16(b, l3 + 12, l3 + 20) + proto + (end - l4);
  const head = `${side} ${mac(b, 0)} ttl=${b[l3 + 8]}`;
  const src = ip(b, l3 + 12);
  const dst = ip(b, l3 + 16);
  let rest: string;
  if (proto === 6) {
    const l4Ok = sum16(b, l4, end, pseudo) === 0xffff;
    rest = `TCP ${src}:${u16(b, l4)} > ${dst}:${u16(b, l4 + 2)} [${tcpFlags(b[l4 + 13]!)}]${l4Ok ? '' : ' BAD-TCP-CHECKSUM'}`;
  } else if (proto === 17) {
    const zero = u16(b, l4 + 6) === 0;
    const l4Ok = zero || sum16(b, l4, end, pseudo) === 0xffff;
    rest = `UDP ${src}:${u16(b, l4)} > ${dst}:${u16(b, l4 + 2)}${l4Ok ? '' : ' BAD-UDP-CHECKSUM'}`;
  } else if (proto === 1) {
    const inner = l4 + 8;
    const quoted = b.length >= inner + 24 ? ` about ${ip(b, inner + 12)}:${u16(b, inner + 20)} > ${ip(b, inner + 16)}:${u16(b, inner + 22)}` : '';
    rest = `ICMP ${src} > ${dst} type=${b[l4]} code=${b[l4 + 1]}${quoted}${sum16(b, l4, end) === 0xffff ? '' : ' BAD-ICMP-CHECKSUM'}`;
  } else if (proto === 4) {
    rest = `IPIP ${src} > ${dst}`;
  } else {
    rest = `proto=${proto} ${src} > ${dst}`;
  }
  return `${head} ${rest}${ipOk ? '' : ' BAD-IP-CHECKSUM'}`;
}
