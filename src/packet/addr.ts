// Text <-> binary for addresses: configuration, tools, tests, logs. Allocates and throws
// UvsError on bad input; never used per packet (the hot path keeps IPv4 as uint32 and
// IPv6/MAC as offsets into buffers).

import { UvsError } from '../errors.js';

/** Dotted quad to uint32. */
export function ip4FromString(s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) throw new UvsError('UVS_BAD_ADDRESS', `not an IPv4 address: '${s}'`);
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) throw new UvsError('UVS_BAD_ADDRESS', `not an IPv4 address: '${s}'`);
    v = v * 256 + o;
  }
  return v;
}

/** uint32 to dotted quad. */
export function ip4ToString(v: number): string {
  v >>>= 0;
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** IPv6 text (RFC 4291 2.2, incl. '::' and a trailing dotted quad) to 16 bytes. */
export function ip6FromString(s: string): Uint8Array {
  const bad = (): never => {
    throw new UvsError('UVS_BAD_ADDRESS', `not an IPv6 address: '${s}'`);
  };
  let text = s;
  const words: number[] = [];
  // A trailing dotted quad becomes two words.
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.indexOf('.', lastColon) > 0) {
    const v4 = ip4FromStringOr(text.slice(lastColon + 1));
    if (v4 < 0) bad();
    text = text.slice(0, lastColon + 1) + (v4 >>> 16).toString(16) + ':' + (v4 & 0xffff).toString(16);
  }
  const halves = text.split('::');
  if (halves.length > 2) bad();
  const parse = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').map((w) => {
          if (!/^[0-9a-fA-F]{1,4}$/.test(w)) bad();
          return parseInt(w, 16);
        });
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (halves.length === 2) {
    if (head.length + tail.length > 7) bad();
    words.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail);
  } else {
    if (head.length !== 8) bad();
    words.push(...head);
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i]! >>> 8;
    out[2 * i + 1] = words[i]! & 0xff;
  }
  return out;
}

function ip4FromStringOr(s: string): number {
  try {
    return ip4FromString(s);
  } catch {
    return -1;
  }
}

/** 16 bytes at b[off] to RFC 5952 text (lower case, longest zero run as '::'). */
export function ip6ToString(b: Uint8Array, off = 0): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 1; // RFC 5952 4.2.2: a single zero word is not compressed
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(w);
  return `${hex(w.slice(0, bestStart))}::${hex(w.slice(bestStart + bestLen))}`;
}

/** 'aa:bb:cc:dd:ee:ff' (or with '-') to 6 bytes. */
export function macFromString(s: string): Uint8Array {
  const m = /^([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})$/.exec(s);
  if (!m) throw new UvsError('UVS_BAD_ADDRESS', `not a MAC address: '${s}'`);
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) out[i] = parseInt(m[i + 1]!, 16);
  return out;
}

/** 6 bytes at b[off] to 'aa:bb:cc:dd:ee:ff'. */
export function macToString(b: Uint8Array, off = 0): string {
  const p: string[] = [];
  for (let i = 0; i < 6; i++) p.push(b[off + i]!.toString(16).padStart(2, '0'));
  return p.join(':');
}

/** Hex string (whitespace and ':' ignored) to bytes. */
export function hexToBytes(hex: string): Uint8Array {
  const h = hex.replace(/[\s:]/g, '');
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new UvsError('UVS_BAD_HEX', `not a hex string: '${hex}'`);
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Bytes to lower-case hex. */
export function bytesToHex(b: Uint8Array, start = 0, end = b.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}
