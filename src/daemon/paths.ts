// Where a uvsd lives: one daemon per network namespace, so its admin socket, pid file and
// log are named after the namespace's identity (the inode of /proc/self/ns/net). uvsadm
// run in the same namespace computes the same path; another namespace gets another daemon,
// as each namespace has its own kernel IPVS table.

import { statSync } from 'node:fs';
import { join } from 'node:path';

/** Directory for sockets, pid files and logs (UVS_RUN_DIR overrides /run/uvs). */
export function runDir(): string {
  return process.env.UVS_RUN_DIR ?? '/run/uvs';
}

/** The network namespace this process is in, as an inode number. */
export function netnsId(): string {
  return String(statSync('/proc/self/ns/net').ino);
}

export interface DaemonPaths {
  socket: string;
  pid: string;
  log: string;
}

export function daemonPaths(ns = netnsId()): DaemonPaths {
  const dir = runDir();
  return { socket: join(dir, `uvsd-${ns}.sock`), pid: join(dir, `uvsd-${ns}.pid`), log: join(dir, `uvsd-${ns}.log`) };
}
