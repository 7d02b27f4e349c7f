// `uvs decap` as an object: sets the host up (TUN device up, rp_filter, the nftables table),
// runs the Decapsulator, and undoes everything on stop(). All in the caller's network
// namespace. start() either returns a running service or throws with nothing left behind.

import { readdirSync } from 'node:fs';
import { interfaceInfo } from '../frameio/interface.js';
import { UvsError } from '../errors.js';
import { Decapsulator } from './decapsulator.js';
import type { DecapStats } from './core.js';
import { confPath, ipCommand, kernelTunnelSupport, localIPv4Addresses, processStartTime, readSysctl, writeSysctl } from './host.js';
import { DEFAULT_NFT_TABLE, installNftTable, removeNftTable, checkTableName, type NftOwner } from './nft.js';
import { checkTunName, closeTun, DECAP_ERROR_CODES, openTun } from './tun.js';

export const DEFAULT_DECAP_IF = 'eth0';
export const DEFAULT_TUN = 'uvsdecap0';

export interface DecapServiceOptions {
  /** Interface the tunnelled packets arrive on. Default eth0. */
  ifname?: string;
  /** TUN device the inner packets are written to. Default uvsdecap0. */
  tun?: string;
  /** VIPs the inner destination must be one of; empty = any (see docs/decap.md). */
  vips?: string[];
  /** Also decapsulate IPv6-in-IPv4 (protocol 41). */
  sixInFour?: boolean;
  /** Outer destinations accepted. Default: every IPv4 address of this namespace but 127/8, read at start. */
  localAddresses?: string[];
  /** Install the nftables table that stops the kernel's ICMP protocol unreachable. Default true. */
  nft?: boolean;
  /** Its name (family ip). Default uvs_decap. */
  nftTable?: string;
  /** Run even though the kernel has ipip (tunl0) / sit (sit0). Default false. */
  force?: boolean;
  /** Set rp_filter so the server accepts packets from the TUN device. Default true. */
  manageRpFilter?: boolean;
  /** Progress and warnings (one line each). */
  log?: (line: string) => void;
}

export interface DecapServiceInfo {
  ifname: string;
  tun: string;
  vips: string[];
  sixInFour: boolean;
  localAddresses: string[];
  /** The nftables table installed (null with nft: false). */
  nftTable: string | null;
  /** PID recorded in a leftover table that start() replaced. */
  replacedLeftoverOf: number | null;
  /** sysctls changed (path -> [old, new]); restored on stop when still ours. */
  sysctls: Record<string, [string, string]>;
  /** Kernel tunnel support found at start (with force). */
  kernelIpip: boolean;
}

export interface DecapStopReport {
  stats: DecapStats & { ringDrops: number; lastWriteError?: string };
  nftTableRemoved: boolean;
  /** Errors met while undoing (the rest is still undone). */
  errors: string[];
}

export class DecapService {
  readonly info: DecapServiceInfo;
  private readonly decap: Decapsulator;
  private readonly tunFd: number;
  private readonly owner: NftOwner;
  private stopped: DecapStopReport | null = null;

  private constructor(info: DecapServiceInfo, decap: Decapsulator, tunFd: number, owner: NftOwner) {
    this.info = info;
    this.decap = decap;
    this.tunFd = tunFd;
    this.owner = owner;
  }

  static start(options: DecapServiceOptions = {}): DecapService {
    const log = options.log ?? ((): void => {});
    const ifname = options.ifname ?? DEFAULT_DECAP_IF;
    const tun = options.tun ?? DEFAULT_TUN;
    const sixInFour = options.sixInFour ?? false;
    const table = options.nftTable ?? DEFAULT_NFT_TABLE;
    const useNft = options.nft ?? true;
    checkTunName(tun);
    checkTableName(table);
    if (tun === ifname) throw new UvsError(DECAP_ERROR_CODES.BAD_OPTION, `--tun ${tun} is the interface decap listens on`);

    // The interface must exist (names it in the error if not).
    interfaceInfo(ifname);

    const k = kernelTunnelSupport();
    const kernelIpip = k.tunl0 || k.ipipModule || (sixInFour && (k.sit0 || k.sitModule));
    if (kernelIpip && !options.force) {
      const what = k.tunl0 || k.ipipModule ? `ipip (${k.tunl0 ? 'tunl0 exists' : '/sys/module/ipip exists'})` : `sit (${k.sit0 ? 'sit0 exists' : '/sys/module/sit exists'})`;
      throw new UvsError(
        DECAP_ERROR_CODES.KERNEL_IPIP,
        `the kernel can decapsulate by itself: it has ${what}; use the kernel path (ip link set tunl0 up, VIP on lo, ` +
          'rp_filter 0 on tunl0), it is faster. Run with --force to use uvs decap anyway (its nftables rule then keeps the kernel from decapsulating too)',
      );
    }
    const startTime = processStartTime(process.pid);
    const owner: NftOwner = { pid: process.pid, startTime: startTime ?? 0 };
    const localAddresses = options.localAddresses ?? localIPv4Addresses();
    const sysctls: Record<string, [string, string]> = {};

    let tunFd = -1;
    let decap: Decapsulator | null = null;
    let nftInstalled = false;
    const undo = (): void => {
      if (nftInstalled) {
        try {
          removeNftTable(table, owner);
        } catch {
          // reported by the original error
        }
      }
      decap?.close();
      if (tunFd >= 0) closeTun(tunFd);
      restoreSysctls(sysctls);
    };
    try {
      tunFd = openTun(tun, { vnetHdr: true });
      // The server's stack must take packets from the TUN device: no IPv6 on it unless it
      // carries 6in4 (and then no link-local address, nothing to autoconfigure), up, and a
      // reverse-path filter that does not insist the client is reachable through it.
      if (!sixInFour) setSysctl(sysctls, confPath('ipv6', tun, 'disable_ipv6'), '1', false);
      else ipCommand(['link', 'set', 'dev', tun, 'addrgenmode', 'none']);
      ipCommand(['link', 'set', 'dev', tun, 'up']);
      if (options.manageRpFilter ?? true) relaxRpFilter(tun, sysctls, log);
      decap = new Decapsulator({ ifname, tunFd, vips: options.vips ?? [], sixInFour, localAddresses });
      let replacedLeftoverOf: number | null = null;
      if (useNft) {
        const r = installNftTable({ table, ifname, protocols: sixInFour ? [4, 41] : [4], tun, owner });
        nftInstalled = true;
        if (r.previous.exists) {
          replacedLeftoverOf = r.previous.owner?.pid ?? null;
          log(`replaced a leftover nftables table ip ${table}${r.previous.owner ? ` of pid ${r.previous.owner.pid} (not running)` : ''}`);
        }
      } else {
        log('no nftables table (--no-nft): the kernel answers tunnelled packets with ICMP protocol unreachable unless you drop IP protocol 4 on input yourself');
      }
      const info: DecapServiceInfo = {
        ifname,
        tun,
        vips: decap.core.vipList,
        sixInFour,
        localAddresses: decap.localAddresses,
        nftTable: useNft ? table : null,
        replacedLeftoverOf,
        sysctls,
        kernelIpip,
      };
      return new DecapService(info, decap, tunFd, owner);
    } catch (err) {
      undo();
      throw err;
    }
  }

  /** See Decapsulator.runOnce. */
  runOnce(timeoutMs: number): number {
    if (this.stopped) return 0;
    return this.decap.runOnce(timeoutMs);
  }

  stats(): DecapStopReport['stats'] {
    return this.stopped ? this.stopped.stats : this.decap.stats();
  }

  get running(): boolean {
    return this.stopped === null;
  }

  /** Removes the nftables table (if still ours), closes the socket and the TUN device, restores sysctls. Idempotent. */
  stop(): DecapStopReport {
    if (this.stopped) return this.stopped;
    const errors: string[] = [];
    let nftTableRemoved = false;
    if (this.info.nftTable) {
      try {
        nftTableRemoved = removeNftTable(this.info.nftTable, this.owner);
        if (!nftTableRemoved) errors.push(`nftables table ip ${this.info.nftTable} was no longer ours: left alone`);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    let stats: DecapStopReport['stats'];
    try {
      stats = this.decap.stats();
    } catch {
      stats = { ...this.decap.core.stats(), ringDrops: 0 };
    }
    try {
      this.decap.close();
    } catch (err) {
      errors.push((err as Error).message);
    }
    try {
      closeTun(this.tunFd);
    } catch (err) {
      errors.push((err as Error).message);
    }
    errors.push(...restoreSysctls(this.info.sysctls));
    this.stopped = { stats, nftTableRemoved, errors };
    return this.stopped;
  }
}

/**
 * The reverse-path filter must be off for the TUN device: the route back to the client is
 * not through it, and a device without an IPv4 address fails even the loose check (the
 * kernel's tunl0 has the same need). The effective value is max(all, device), so when
 * `all` is not 0 it is set to 0 and every other interface (and `default`, for interfaces
 * created meanwhile) is raised to the old `all` value: their effective filtering does not
 * change. Everything is put back on stop.
 */
function relaxRpFilter(tun: string, changed: Record<string, [string, string]>, log: (line: string) => void): void {
  setSysctl(changed, confPath('ipv4', tun, 'rp_filter'), '0', true);
  const allPath = confPath('ipv4', 'all', 'rp_filter');
  const all = readSysctl(allPath);
  if (all === null || all === '0') return;
  const raised: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync('/proc/sys/net/ipv4/conf');
  } catch {
    // no per-interface entries to raise
  }
  for (const name of names) {
    if (name === 'all' || name === tun) continue;
    const p = confPath('ipv4', name, 'rp_filter');
    const v = readSysctl(p);
    if (v === null || Number(v) >= Number(all)) continue;
    setSysctl(changed, p, all, false);
    raised.push(name);
  }
  setSysctl(changed, allPath, '0', true);
  log(
    `net.ipv4.conf.all.rp_filter was ${all}: set to 0 while running so that ${tun} (no address) passes the reverse-path check` +
      (raised.length ? `; raised ${raised.join(', ')} to ${all} so their effective value is unchanged` : '') +
      '; restored on exit',
  );
}

function setSysctl(changed: Record<string, [string, string]>, path: string, value: string, required: boolean): void {
  const old = readSysctl(path);
  if (old === null) {
    if (required) throw new UvsError(DECAP_ERROR_CODES.HOST, `cannot read ${path}`);
    return;
  }
  if (old === value) return;
  writeSysctl(path, value);
  changed[path] = [old, value];
}

/** Puts back the values we changed, if nobody changed them since. Returns error messages. */
function restoreSysctls(changed: Record<string, [string, string]>): string[] {
  const errors: string[] = [];
  for (const [path, [old, now]] of Object.entries(changed)) {
    // Per-device entries vanish with the TUN device.
    if (readSysctl(path) !== now) continue;
    try {
      writeSysctl(path, old);
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  return errors;
}
