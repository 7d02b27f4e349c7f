#!/usr/bin/env node
// uvsd: the director daemon, one per network namespace (src/daemon/uvsd.ts).
//
//   uvsd [--config FILE] [--interfaces pub0,priv0] [--owned ADDR,...] [--workers N]
//        [--connections N] [--mark-rules FILE] [--log FILE] [--drain SECONDS]
//   uvsd --check-config FILE        validate a config (any dialect) and exit
//
// The config dialect (ipvsadm rules, lvs.cf, keepalived.conf, JSON) is recognised from the
// content. Without --config the table starts empty and uvsadm configures it. Logs are
// JSON lines (pino) on stderr or --log FILE. SIGHUP re-reads the config; SIGTERM/SIGINT
// stop the workers, remove the isolation rules and the socket.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import ipaddr from 'ipaddr.js';
import { pino } from 'pino';
import { UvsError } from '../errors.js';
import { loadConfig } from '../config/detect.js';
import { validateTable } from '../config/validate.js';
import type { ServiceTable } from '../config/model.js';
import { daemonPaths } from '../daemon/paths.js';
import { request } from '../daemon/protocol.js';
import { Uvsd } from '../daemon/uvsd.js';

const USAGE = `usage: uvsd [--config FILE] [--interfaces IF,IF] [--owned ADDR,ADDR] [--workers N] [--connections N] [--mark-rules FILE] [--log FILE] [--drain SECONDS]
       uvsd --check-config FILE`;

function readConfig(file: string): { table: ServiceTable; dialect: string; warnings: string[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UvsError('UVS_CONFIG', `${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return loadConfig(text, file);
}

function positiveInt(flag: string, v: string | undefined, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UvsError('UVS_USAGE', `--${flag} must be an integer 1..${max}, got '${v}'`);
  return n;
}

function ownedAddress(a: string): string {
  if (!ipaddr.IPv4.isValidFourPartDecimal(a)) throw new UvsError('UVS_USAGE', `--owned: '${a}' is not an IPv4 address`);
  return a;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      'check-config': { type: 'string' },
      interfaces: { type: 'string' },
      owned: { type: 'string' },
      workers: { type: 'string' },
      connections: { type: 'string' },
      'mark-rules': { type: 'string' },
      log: { type: 'string' },
      drain: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (positionals.length) throw new UvsError('UVS_USAGE', `unexpected argument '${positionals[0]}'\n${USAGE}`);
  if (values['check-config'] !== undefined) {
    const { dialect, table, warnings } = readConfig(values['check-config']);
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
    process.stdout.write(`${values['check-config']}: ${dialect}, ${table.services.length} virtual service(s), ${table.services.reduce((n, s) => n + s.servers.length, 0)} real server(s): OK\n`);
    return 0;
  }
  const paths = daemonPaths();
  // One daemon per namespace: refuse to start a second one.
  const other = await request(paths.socket, { op: 'ping' }, 1000).catch(() => undefined);
  if (other?.ok) throw new UvsError('UVS_DAEMON_RUNNING', `uvsd already runs in this network namespace (pid ${String(other.pid)}, socket ${paths.socket})`);
  const workers = positiveInt('workers', values.workers, 16);
  const connections = positiveInt('connections', values.connections, 1 << 24);
  const drain = positiveInt('drain', values.drain, 86400);
  const logger = pino({ base: { pid: process.pid, name: 'uvsd' } }, pino.destination(values.log ? { dest: values.log, mkdir: true, sync: true } : { dest: 2, sync: true }));
  const configFile = values.config;
  const daemon = await Uvsd.start({
    paths,
    logger,
    ...(configFile ? { configFile } : {}),
    load: (file) => {
      const r = readConfig(file);
      for (const w of r.warnings) logger.warn({ file }, w);
      return r.table;
    },
    validate: (table) => validateTable(table, configFile ?? 'uvsadm'),
    ...(values.interfaces ? { interfaces: values.interfaces.split(',').filter(Boolean) } : {}),
    ...(values.owned ? { owned: values.owned.split(',').filter(Boolean).map((a) => ownedAddress(a)) } : {}),
    ...(workers ? { workers } : {}),
    ...(connections ? { connections } : {}),
    ...(values['mark-rules'] ? { markRulesFile: values['mark-rules'] } : {}),
    ...(drain ? { drainMs: drain * 1000 } : {}),
  });
  process.on('SIGHUP', () => {
    daemon.reload().catch((err: unknown) => logger.error({ err }, 'reload failed: the running configuration stays'));
  });
  await new Promise<void>((resolve) => {
    process.on('SIGTERM', () => resolve());
    process.on('SIGINT', () => resolve());
  });
  await daemon.stop();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = err as { code?: string; message?: string };
    process.stderr.write(`uvsd: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
