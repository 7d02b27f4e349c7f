// The C library parsers ipvsadm's argument handling rests on, with glibc's exact
// acceptance rules, so uvsadm accepts and rejects the same strings: strtol-based
// string_to_number / atoi, inet_aton (a.b.c.d, a.b.c, a.b, a; hex and octal parts),
// inet_pton for IPv4 and IPv6, and inet_ntop's IPv6 text (glibc inet_ntop6, which prints
// ::ffff:a.b.c.d and ::a.b.c.d dotted). Reference: ipvsadm.md 3.1 (host[:port]), glibc
// resolv/inet_addr.c, inet_pton.c, inet_ntop.c.

import ipaddr from 'ipaddr.js';
import type { Family } from '../../config/model.js';

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** strtol(s, &end, 10): the value and whether the whole string was one number (errno ERANGE counts as not). */
function strtol10(s: string): { value: bigint; digits: boolean; rest: string } {
  let i = 0;
  while (isSpace(s[i])) i++;
  let negative = false;
  if (s[i] === '+' || s[i] === '-') negative = s[i++] === '-';
  const start = i;
  while (isDigit(s[i])) i++;
  if (i === start) return { value: 0n, digits: false, rest: s };
  const magnitude = BigInt(s.slice(start, i));
  return { value: negative ? -magnitude : magnitude, digits: true, rest: s.slice(i) };
}

const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);

/** ipvsadm's string_to_number: a whole decimal number in [min, max], else undefined. */
export function stringToNumber(s: string, min: number, max: number): number | undefined {
  const n = strtol10(s);
  if (!n.digits || n.rest !== '') return undefined;
  if (n.value > LONG_MAX || n.value < LONG_MIN) return undefined; // ERANGE
  if (n.value < BigInt(min) || n.value > BigInt(max)) return undefined;
  return Number(n.value);
}

/** atoi(s): leading number, garbage after it ignored, 0 without digits, (int) of the long. */
export function atoi(s: string): number {
  const n = strtol10(s);
  if (!n.digits) return 0;
  const clamped = n.value > LONG_MAX ? LONG_MAX : n.value < LONG_MIN ? LONG_MIN : n.value;
  return Number(BigInt.asIntN(32, clamped));
}

/** strtoul(s, &end, 0) from a digit: value (capped past 32 bits) and characters used. */
function strtoulBase0(s: string, from: number): { value: number; end: number } {
  let base = 10;
  let i = from;
  if (s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && /[0-9a-fA-F]/.test(s[i + 2] ?? '')) {
    base = 16;
    i += 2;
  } else if (s[i] === '0') base = 8;
  let value = 0;
  for (; i < s.length; i++) {
    const d = parseInt(s[i]!, 16);
    if (Number.isNaN(d) || d >= base) break;
    // Past 2^32 the exact value no longer matters: inet_aton rejects it.
    value = Math.min(value * base + d, 2 ** 40);
  }
  return { value, end: i };
}

/** glibc inet_aton: the IPv4 address as a 32-bit number, or undefined. */
export function inetAton(s: string): number | undefined {
  const parts: number[] = [];
  let i = 0;
  let value: number;
  for (;;) {
    if (!isDigit(s[i])) return undefined;
    const n = strtoulBase0(s, i);
    if (n.value > 0xffffffff) return undefined;
    value = n.value;
    i = n.end;
    if (s[i] !== '.') break;
    if (parts.length > 2 || value > 0xff) return undefined;
    parts.push(value);
    i++;
  }
  // Trailing characters are allowed after white space (inet_aton stops there).
  if (i < s.length && !isSpace(s[i])) return undefined;
  const limits = [0xffffffff, 0xffffff, 0xffff, 0xff];
  if (value > limits[parts.length]!) return undefined;
  let word = 0;
  parts.forEach((p, k) => (word += p * 2 ** (24 - 8 * k)));
  return word + value;
}

/** glibc inet_pton(AF_INET): exactly four decimal parts, no leading zeros. */
export function inetPton4(s: string): number[] | undefined {
  const bytes = [0];
  let sawDigit = false;
  for (const c of s) {
    if (isDigit(c)) {
      const cur = bytes[bytes.length - 1]!;
      if (sawDigit && cur === 0) return undefined;
      const next = cur * 10 + Number(c);
      if (next > 255) return undefined;
      bytes[bytes.length - 1] = next;
      sawDigit = true;
    } else if (c === '.' && sawDigit) {
      if (bytes.length === 4) return undefined;
      bytes.push(0);
      sawDigit = false;
    } else return undefined;
  }
  return bytes.length === 4 && sawDigit ? bytes : undefined;
}

/** glibc inet_pton(AF_INET6): 16 bytes, or undefined. */
export function inetPton6(s: string): number[] | undefined {
  const out: number[] = [];
  let i = 0;
  if (s[0] === ':' && s[1] !== ':') return undefined;
  if (s[0] === ':') i = 1;
  let gapAt = -1;
  let tokenStart = i;
  let digits = 0;
  let value = 0;
  for (; i < s.length; i++) {
    const c = s[i]!;
    const hex = /[0-9a-fA-F]/.test(c) ? parseInt(c, 16) : -1;
    if (hex >= 0) {
      if (++digits > 4) return undefined;
      value = (value << 4) | hex;
      continue;
    }
    if (c === ':') {
      tokenStart = i + 1;
      if (digits === 0) {
        if (gapAt >= 0) return undefined;
        gapAt = out.length;
        continue;
      }
      if (i + 1 === s.length || out.length + 2 > 16) return undefined;
      out.push(value >> 8, value & 0xff);
      digits = 0;
      value = 0;
      continue;
    }
    if (c === '.' && out.length + 4 <= 16) {
      const v4 = inetPton4(s.slice(tokenStart));
      if (!v4) return undefined;
      out.push(...v4);
      digits = 0;
      break;
    }
    return undefined;
  }
  if (digits > 0) {
    if (out.length + 2 > 16) return undefined;
    out.push(value >> 8, value & 0xff);
  }
  if (gapAt >= 0) {
    if (out.length === 16) return undefined;
    out.splice(gapAt, 0, ...new Array<number>(16 - out.length).fill(0));
  }
  return out.length === 16 ? out : undefined;
}

/** Dotted text of a 32-bit IPv4 value (inet_ntoa). */
export function ip4Text(word: number): string {
  return [word >>> 24, (word >>> 16) & 0xff, (word >>> 8) & 0xff, word & 0xff].join('.');
}

/** glibc inet_ntop(AF_INET6) of 16 bytes. */
export function ntop6(bytes: readonly number[]): string {
  const words = Array.from({ length: 8 }, (_, k) => (bytes[2 * k]! << 8) | bytes[2 * k + 1]!);
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  words.forEach((w, k) => {
    if (w === 0) {
      cur = cur.base === -1 ? { base: k, len: 1 } : { base: cur.base, len: cur.len + 1 };
      if (cur.len > best.len) best = cur;
    } else cur = { base: -1, len: 0 };
  });
  if (best.len < 2) best = { base: -1, len: 0 };
  let text = '';
  for (let k = 0; k < 8; k++) {
    if (best.base !== -1 && k >= best.base && k < best.base + best.len) {
      if (k === best.base) text += ':';
      continue;
    }
    if (k !== 0) text += ':';
    if (k === 6 && best.base === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff))) {
      text += bytes.slice(12, 16).join('.');
      break;
    }
    text += words[k]!.toString(16);
  }
  if (best.base !== -1 && best.base + best.len === 8) text += ':';
  return text;
}

/** The model's canonical text of an address (dotted IPv4, ipaddr.js IPv6). */
export function canonicalAddress(family: Family, bytes: readonly number[]): string {
  return family === 4 ? bytes.join('.') : ipaddr.fromByteArray([...bytes]).toString();
}

/** Bytes of a model address text (4 or 16), for sorting and printing; family from its form. */
export function addressBytes(text: string): { family: Family; bytes: number[] } {
  const v6 = text.includes(':');
  if (!v6) {
    const word = inetAton(text);
    return { family: 4, bytes: word === undefined ? [0, 0, 0, 0] : [word >>> 24, (word >>> 16) & 0xff, (word >>> 8) & 0xff, word & 0xff] };
  }
  const bytes = inetPton6(text) ?? (ipaddr.IPv6.isValid(text) ? ipaddr.IPv6.parse(text).toByteArray() : new Array<number>(16).fill(0));
  return { family: 6, bytes };
}

/** How inet_ntop prints a model address. */
export function addressText(text: string): string {
  const a = addressBytes(text);
  return a.family === 4 ? a.bytes.join('.') : ntop6(a.bytes);
}
