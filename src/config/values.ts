// Lexical pieces shared by the text config dialects (Piranha lvs.cf(5), keepalived.conf(5)):
// the quote-aware tokenizer, the `file:line: message` error, and value parsers for
// addresses (canonical text via ipaddr.js), masks, integers and ports. Each dialect keeps
// its own grammar; only what both read the same way lives here.

import ipaddr from 'ipaddr.js';
import { UvsError } from '../errors.js';
import type { Family } from './model.js';

export interface Token {
  text: string;
  /** Written in quotes: never a brace, a comment or a keyword of the grammar. */
  quoted: boolean;
}

/** The error every text loader raises: `where` is `file:line`. */
export function configError(where: string, message: string): UvsError {
  return new UvsError('UVS_CONFIG', `${where}: ${message}`);
}

/** A token as quoted in messages, cut so that a megabyte of garbage stays one readable line. */
export function shown(text: string): string {
  const cut = text.length > 60 ? `${text.slice(0, 60)}...` : text;
  return JSON.stringify(cut);
}

export interface TokenizerRules {
  /** Characters starting a comment anywhere outside quotes (keepalived: `#!`); '' for none. */
  comment: string;
  /** `{` and `}` are tokens of their own even when written against a word (keepalived). */
  splitBraces: boolean;
}

/**
 * Splits one line into blank-separated tokens; `"` or `'` group blanks into one token
 * (the quotes are dropped). A backslash inside quotes keeps the next character, quote
 * included, so `"say \"hi\""` is one token (the escape itself stays for the checker to
 * translate, as nanny does).
 */
export function splitLine(line: string, where: string, rules: TokenizerRules): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (rules.comment.includes(c)) break;
    if (c === '"' || c === "'") {
      let j = i + 1;
      let text = '';
      while (j < n && line[j] !== c) {
        if (line[j] === '\\' && j + 1 < n) {
          text += line.slice(j, j + 2);
          j += 2;
        } else text += line[j++];
      }
      if (j >= n) throw configError(where, `quotation mismatch: ${c} opened at column ${i + 1} is not closed`);
      tokens.push({ text, quoted: true });
      i = j + 1;
      continue;
    }
    if (rules.splitBraces && (c === '{' || c === '}')) {
      tokens.push({ text: c, quoted: false });
      i++;
      continue;
    }
    let j = i;
    while (j < n && !' \t\r\f\v'.includes(line[j]!) && !(rules.splitBraces && (line[j] === '{' || line[j] === '}')) && !rules.comment.includes(line[j]!)) j++;
    tokens.push({ text: line.slice(i, j), quoted: false });
    i = j;
  }
  return tokens;
}

/** An IPv4 (dotted quad) or IPv6 address in canonical text; hostnames are not resolved. */
export function parseAddress(text: string, where: string, what: string, family?: Family): { address: string; family: Family } {
  if (family !== 6 && ipaddr.IPv4.isValidFourPartDecimal(text)) return { address: ipaddr.IPv4.parse(text).toString(), family: 4 };
  if (family !== 4 && !text.includes('%') && ipaddr.IPv6.isValid(text)) return { address: ipaddr.IPv6.parse(text).toString(), family: 6 };
  const expected = family === 4 ? 'an IPv4 address (a.b.c.d)' : family === 6 ? 'an IPv6 address' : 'an IPv4 (a.b.c.d) or IPv6 address';
  throw configError(where, `${what}: expected ${expected}, got ${shown(text)} (host names are not resolved)`);
}

/** A dotted IPv4 netmask; it must be contiguous (ones then zeros), as `ipvsadm -M` and ifconfig need. */
export function parseIpv4Mask(text: string, where: string, what: string): string {
  if (!ipaddr.IPv4.isValidFourPartDecimal(text)) throw configError(where, `${what}: expected a dotted netmask (e.g. 255.255.255.0), got ${shown(text)}`);
  const mask = ipaddr.IPv4.parse(text);
  if (mask.prefixLengthFromSubnetMask() === null) throw configError(where, `${what}: netmask ${text} is not contiguous (ones then zeros, e.g. 255.255.255.0)`);
  return mask.toString();
}

/** The model's netmask text for a prefix length: dotted for IPv4, the length for IPv6. */
export function netmaskOfPrefix(prefix: number, family: Family): string {
  return family === 4 ? ipaddr.IPv4.subnetMaskFromPrefixLength(prefix).toString() : String(prefix);
}

/**
 * An integer min..max. `cStyle` reads it as C's strtol(s, 0) does (lvs.cf): `0x1A` is
 * hex and a leading 0 means octal; otherwise decimal digits only.
 */
export function parseInteger(text: string, where: string, what: string, min: number, max: number, cStyle = false): number {
  let value = Number.NaN;
  if (cStyle) {
    const m = /^([+-]?)(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))$/.exec(text);
    if (m) value = (m[1] === '-' ? -1 : 1) * (m[2] !== undefined ? parseInt(m[2], 16) : m[3] !== undefined ? parseInt(m[3], 8) : parseInt(m[4]!, 10));
  } else if (/^[+-]?[0-9]+$/.test(text)) value = parseInt(text, 10);
  if (!Number.isSafeInteger(value)) throw configError(where, `${what}: integer expected, got ${shown(text)}`);
  if (value < min || value > max) throw configError(where, `${what}: expected an integer ${min}..${max}, got ${text}`);
  return value;
}

/** A port 0..65535, or (lvs.cf virtual ports) a service name of the usual /etc/services entries. */
export function parsePort(text: string, where: string, what: string, opts: { names?: boolean; cStyle?: boolean; min?: number } = {}): number {
  if (opts.names && /^[a-z][a-z0-9-]*$/i.test(text)) {
    const port = Object.hasOwn(WELL_KNOWN_PORTS, text.toLowerCase()) ? WELL_KNOWN_PORTS[text.toLowerCase()] : undefined;
    if (port === undefined) throw configError(where, `${what}: unknown service name ${shown(text)} (use the port number)`);
    return port;
  }
  return parseInteger(text, where, what, opts.min ?? 0, 65535, opts.cStyle);
}

/** The TCP entries of /etc/services a director config is likely to name (lvs.cf reads the file; uvs carries the common ones). */
export const WELL_KNOWN_PORTS: Record<string, number> = {
  ftp: 21, ssh: 22, telnet: 23, smtp: 25, domain: 53, http: 80, www: 80, pop3: 110, nntp: 119, ntp: 123, imap: 143, imap2: 143, snmp: 161,
  ldap: 389, https: 443, submission: 587, ldaps: 636, imaps: 993, pop3s: 995, mysql: 3306, 'http-alt': 8080, webcache: 8080, postgresql: 5432,
  'ms-sql-s': 1433, ipp: 631, rsync: 873, sip: 5060, 'sip-tls': 5061,
};
