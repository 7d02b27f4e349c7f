#!/usr/bin/env node
// uvsadm: ipvsadm's command line (ipvsadm 1.31), for uvs. Invoked through a symlink named
// `ipvsadm` it names itself ipvsadm in its messages, so scripts written for kernel IPVS run
// unchanged. The command is parsed here (usage errors, -h and -v need no daemon) and run by
// the uvsd of this network namespace against its live table (src/control/ipvsadm/run.ts);
// uvsadm prints what came back and exits with ipvsadm's exit code. If no uvsd runs here,
// uvsadm starts one, fully detached (no inherited stdio; it logs to its own file), and says
// nothing about it — as ipvsadm prints nothing on success.

import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, runUvsadm } from '../control/ipvsadm/index.js';
import { emptyTable } from '../config/model.js';
import { daemonPaths, type DaemonPaths } from '../daemon/paths.js';
import { request, type Response } from '../daemon/protocol.js';

const UVSD = fileURLToPath(new URL('./uvsd.js', import.meta.url));
/** How long uvsadm waits for a daemon it started (workers, rings, nftables). */
const START_TIMEOUT_MS = 30_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function ping(paths: DaemonPaths): Promise<boolean> {
  return (await request(paths.socket, { op: 'ping' }, 2000).catch(() => undefined))?.ok === true;
}

/** Starts uvsd detached unless another uvsadm is already doing so, and waits for it to answer. */
async function ensureDaemon(paths: DaemonPaths): Promise<void> {
  if (await ping(paths)) return;
  mkdirSync(dirname(paths.socket), { recursive: true });
  const lock = `${paths.pid}.starting`;
  let mine = false;
  try {
    closeSync(openSync(lock, 'wx'));
    mine = true;
  } catch {
    // Someone else is starting it (or a crashed start left the lock: take over after a while).
    if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > START_TIMEOUT_MS) {
      rmSync(lock, { force: true });
      return ensureDaemon(paths);
    }
  }
  try {
    if (mine) {
      const child = spawn(process.execPath, [UVSD, '--log', paths.log], { detached: true, stdio: 'ignore' });
      child.unref();
    }
    const until = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < until) {
      if (await ping(paths)) return;
      await sleep(50);
    }
    throw new Error(`uvsd did not start within ${START_TIMEOUT_MS / 1000} s (see ${paths.log})`);
  } finally {
    if (mine) rmSync(lock, { force: true });
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const prog = basename(process.argv[1] ?? 'uvsadm').replace(/\.js$/, '');
  // What needs no table: usage errors, -h, -v.
  const parsed = parseArgs(argv, { prog });
  if (!parsed.ok || parsed.command.kind === 'help' || parsed.command.kind === 'version') {
    const local = runUvsadm({ table: emptyTable(), daemons: [] }, argv, { prog });
    process.stdout.write(local.stdout);
    process.stderr.write(local.stderr);
    return local.exitCode;
  }
  const stdin = parsed.command.kind === 'restore' ? readFileSync(0, 'utf8') : undefined;
  const paths = daemonPaths();
  await ensureDaemon(paths);
  const res: Response = await request(paths.socket, { op: 'run', argv, prog, ...(stdin !== undefined ? { stdin } : {}) }, 120_000);
  if (!res.ok) {
    process.stderr.write(`${res.error ?? 'uvsd failed'}\n`);
    return res.exitCode ?? 255;
  }
  process.stdout.write(String(res.stdout ?? ''));
  process.stderr.write(String(res.stderr ?? ''));
  return Number(res.exitCode ?? 0);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${basename(process.argv[1] ?? 'uvsadm')}: ${(err as Error).message ?? String(err)}\n`);
    process.exitCode = 255;
  },
);
