// Which dialect a config file is written in, told from its content, and the one entry
// point that loads any of them into the model and validates it: ipvsadm rules
// (ipvsadm-save / -R lines), Piranha's lvs.cf, keepalived.conf, or the older JSON forward
// config.

import { UvsError } from '../errors.js';
import { loadIpvsadmRules } from './ipvsadm-rules.js';
import { loadForwardJson } from './json.js';
import { loadKeepalived } from './keepalived.js';
import { loadLvsCf } from './lvs-cf.js';
import type { ServiceTable } from './model.js';
import { validateTable } from './validate.js';
import { shown } from './values.js';

export type Dialect = 'ipvsadm-rules' | 'lvs.cf' | 'keepalived' | 'json';

/** A dialect's loader: the table, with warnings where the dialect has them. */
export type DialectLoader = (text: string, file: string) => ServiceTable | { table: ServiceTable; warnings: string[] };

export interface LoadedConfig {
  dialect: Dialect;
  table: ServiceTable;
  warnings: string[];
}

export const DEFAULT_LOADERS: Record<Dialect, DialectLoader> = {
  'ipvsadm-rules': loadIpvsadmRules,
  'lvs.cf': loadLvsCf,
  keepalived: (text, file) => loadKeepalived(text, file),
  json: loadForwardJson,
};

/** How many significant lines are looked at: the head of a file tells. */
const LINES_LOOKED_AT = 200;

/** The dialect one line speaks, if it says. */
function lineDialect(line: string): Dialect | undefined {
  // ipvsadm-save lines, or ipvsadm-restore input with the command name kept.
  if (/^(ipvsadm\s+)?(-[AEDCaedRSZLl]|--(add|edit|delete)-(service|server)|--set|--clear|--(start|stop)-daemon|--restore|--zero)(\s|$)/.test(line)) return 'ipvsadm-rules';
  if (/^[A-Za-z_][A-Za-z0-9_]*\s+=(\s|$)/.test(line) || /^(virtual|server|failover)\s+\S+\s+\{$/.test(line)) return 'lvs.cf';
  if (/^(global_defs|vrrp_[a-z_]+|virtual_server(_group)?|static_[a-z]+|include[rmwba]?|real_server|[A-Z]+_(CHECK|GET))(\s|\{|$)/.test(line) || /\{$/.test(line)) return 'keepalived';
  return undefined;
}

/**
 * The dialect of a config text: JSON if it opens with `{`; otherwise the dialect most of
 * its first lines speak (`-A -t ...` ipvsadm rules; `key = value` and `virtual NAME {`
 * lvs.cf; `keyword ... {` keepalived). Blank or comment-only text is an empty set of
 * ipvsadm rules; undefined when nothing is recognised.
 */
export function detectDialect(text: string): Dialect | undefined {
  const body = text.replace(/^\uFEFF/, '').trimStart();
  if (body.startsWith('{')) return 'json';
  const votes = new Map<Dialect, number>();
  let significant = 0;
  for (const raw of body.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!') || line === '}') continue;
    if (++significant > LINES_LOOKED_AT) break;
    const d = lineDialect(line);
    if (d) votes.set(d, (votes.get(d) ?? 0) + 1);
  }
  if (significant === 0) return 'ipvsadm-rules';
  let best: Dialect | undefined;
  for (const [d, n] of votes) if (best === undefined || n > votes.get(best)!) best = d;
  return best;
}

/**
 * Loads a config text of any dialect into the model and validates it (validate.ts);
 * `loaders` replaces dialect loaders (tests, keepalived includes read elsewhere).
 */
export function loadConfig(text: string, file: string, loaders: Partial<Record<Dialect, DialectLoader>> = {}): LoadedConfig {
  const dialect = detectDialect(text);
  if (dialect === undefined) {
    const lines = text.split('\n');
    const first = lines.findIndex((l) => l.trim() !== '' && !/^\s*[#!]/.test(l));
    throw new UvsError('UVS_CONFIG', `${file}:${first + 1}: cannot tell the config dialect from ${shown(lines[first]!.trim())}: expected ipvsadm rules (-A -t VIP:PORT ...), lvs.cf (key = value, virtual NAME {), keepalived.conf (virtual_server IP PORT {) or JSON`);
  }
  const loaded = (loaders[dialect] ?? DEFAULT_LOADERS[dialect])(text, file);
  const { table, warnings } = 'services' in loaded ? { table: loaded, warnings: [] } : loaded;
  validateTable(table, file);
  return { dialect, table, warnings };
}
