// What `uvs decap` needs from the host it runs on (in its own network namespace): whether
// the kernel can decapsulate by itself, the local addresses, bringing the TUN device up,
// and the rp_filter / disable_ipv6 sysctls. Everything acts in the caller's namespace:
// /proc/sys/net and getifaddrs are per network namespace, and `ip` runs as a child.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { UvsError } from '../errors.js';
import { DECAP_ERROR_CODES } from './tun.js';

/** Runs `ip ARGS`; throws UVS_DECAP_HOST with ip's stderr. */
export function ipCommand(args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new UvsError(DECAP_ERROR_CODES.HOST, 'the `ip` command (iproute2) is not installed', { cause: err });
    throw new UvsError(DECAP_ERROR_CODES.HOST, `ip ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`, { cause: err });
  }
}

export function linkExists(name: string): boolean {
  try {
    execFileSync('ip', ['link', 'show', 'dev', name], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

export interface KernelTunnelSupport {
  /** tunl0 exists in this namespace (the ipip module is loaded or built in). */
  tunl0: boolean;
  /** /sys/module/ipip exists (loaded, or built in with parameters). */
  ipipModule: boolean;
  /** Same for sit (6in4). */
  sit0: boolean;
  sitModule: boolean;
}

/**
 * Can the kernel decapsulate IPIP / 6in4 itself? With the ipip module, every namespace gets
 * a fallback tunl0 (unless net.core.fb_tunnels_only_for_init_net), which decapsulates any
 * IPIP packet addressed to a local address once it is up.
 */
export function kernelTunnelSupport(): KernelTunnelSupport {
  return {
    tunl0: linkExists('tunl0'),
    ipipModule: existsSync('/sys/module/ipip'),
    sit0: linkExists('sit0'),
    sitModule: existsSync('/sys/module/sit'),
  };
}

/** IPv4 addresses of this namespace's interfaces, except 127.0.0.0/8. */
export function localIPv4Addresses(): string[] {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.address.startsWith('127.')) out.add(a.address);
  }
  return [...out];
}

const SYSCTL_ROOT = '/proc/sys/net';

function sysctlPath(key: string): string {
  // net.ipv4.conf.eth0.rp_filter -> /proc/sys/net/ipv4/conf/eth0/rp_filter (interface names
  // with dots are written with '/' by sysctl; we only take names from our own options).
  if (!key.startsWith('net.')) throw new UvsError(DECAP_ERROR_CODES.BAD_OPTION, `not a net sysctl: ${key}`);
  const parts = key.slice(4).split('.');
  return `${SYSCTL_ROOT}/${parts.join('/')}`;
}

/** Path form for per-interface keys: keeps dots inside the interface name. */
export function confPath(family: 'ipv4' | 'ipv6', dev: string, name: string): string {
  return `${SYSCTL_ROOT}/${family}/conf/${dev}/${name}`;
}

export function readSysctl(path: string): string | null {
  try {
    return readFileSync(path.startsWith('/') ? path : sysctlPath(path), 'utf8').trim();
  } catch {
    return null;
  }
}

export function writeSysctl(path: string, value: string): void {
  const p = path.startsWith('/') ? path : sysctlPath(path);
  try {
    writeFileSync(p, value + '\n');
  } catch (err) {
    throw new UvsError(DECAP_ERROR_CODES.HOST, `cannot set ${p} to ${value}: ${(err as Error).message}`, { cause: err });
  }
}

/** Start time of a process (field 22 of /proc/PID/stat, clock ticks since boot), or null. */
export function processStartTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return null;
    const v = Number(fields[19]);
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

/**
 * Is the process that recorded (pid, start time) still alive, in our network namespace?
 * The start time guards against a reused PID.
 */
export function ownerAlive(pid: number, startTime: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (processStartTime(pid) !== startTime) return false;
  try {
    return readlinkSync(`/proc/${pid}/ns/net`) === readlinkSync('/proc/self/ns/net');
  } catch {
    return true; // cannot tell: the table was found in our namespace
  }
}
