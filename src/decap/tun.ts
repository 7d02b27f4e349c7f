// TUN devices through the native shim (native/src/tun.c): open /dev/net/tun and attach the
// fd to a layer-3 device (IFF_TUN | IFF_NO_PI, optionally IFF_VNET_HDR). Whole IP packets
// are written to the fd with fs.writeSync; closing the fd removes the device.

import { closeSync } from 'node:fs';
import { SystemError, UvsError } from '../errors.js';
import { loadNative, type NativeBinding } from '../frameio/native.js';

export const DECAP_ERROR_CODES = {
  /** No /dev/net/tun (or no TUN support in the kernel). */
  NO_TUN: 'UVS_DECAP_NO_TUN',
  /** EPERM/EACCES: CAP_NET_ADMIN is needed. */
  PERMISSION: 'UVS_DECAP_PERMISSION',
  /** The TUN device is attached to another fd, or the name belongs to another kind of device. */
  TUN_BUSY: 'UVS_DECAP_TUN_BUSY',
  /** Any other failure opening the TUN device. */
  TUN: 'UVS_DECAP_TUN',
  /** The kernel has ipip (tunl0): the kernel path is better (override with --force). */
  KERNEL_IPIP: 'UVS_DECAP_KERNEL_IPIP',
  /** Another live uvs decap owns the nftables table. */
  BUSY: 'UVS_DECAP_BUSY',
  /** nft failed or is missing. */
  NFT: 'UVS_DECAP_NFT',
  /** A helper command (ip) or a sysctl write failed. */
  HOST: 'UVS_DECAP_HOST',
  /** Bad option (address, name, ...). */
  BAD_OPTION: 'UVS_DECAP_BAD_OPTION',
  /** The native addon was built before openTun existed. */
  NATIVE_OUTDATED: 'UVS_DECAP_NATIVE_OUTDATED',
} as const;

type OpenTunFn = (name: string, options?: { vnetHdr?: boolean }) => number;

export interface TunOptions {
  /** IFF_VNET_HDR: every packet written starts with a 10-byte virtio_net_hdr (host byte order). */
  vnetHdr?: boolean;
}

const TUN_NAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

export function checkTunName(name: string): void {
  if (typeof name !== 'string' || !TUN_NAME_RE.test(name))
    throw new UvsError(DECAP_ERROR_CODES.BAD_OPTION, `TUN device name must be 1..15 characters of [A-Za-z0-9_.-], got ${JSON.stringify(name)}`);
}

/**
 * Opens (creating it if needed) the TUN device `name` and returns the fd (O_CLOEXEC,
 * O_NONBLOCK). The device is left down. Throws SystemError UVS_DECAP_NO_TUN /
 * UVS_DECAP_PERMISSION / UVS_DECAP_TUN_BUSY / UVS_DECAP_TUN.
 */
export function openTun(name: string, options: TunOptions = {}): number {
  checkTunName(name);
  const native = loadNative() as NativeBinding & { openTun?: OpenTunFn };
  if (typeof native.openTun !== 'function')
    throw new UvsError(
      DECAP_ERROR_CODES.NATIVE_OUTDATED,
      'the frame-I/O addon has no openTun (built from an older source); rebuild it with `npx node-gyp rebuild --directory=native`',
    );
  try {
    return native.openTun(name, { vnetHdr: options.vnetHdr ?? false });
  } catch (err) {
    throw translateTunError(err, name);
  }
}

/** Closes a TUN fd from openTun (the device disappears unless something else holds it). */
export function closeTun(fd: number): void {
  closeSync(fd);
}

interface NativeErr {
  code?: unknown;
  syscall?: unknown;
  reason?: unknown;
  detail?: unknown;
}

export function translateTunError(err: unknown, name: string): unknown {
  if (!(err instanceof Error)) return err;
  const e = err as Error & NativeErr;
  if (typeof e.syscall !== 'string' || typeof e.code !== 'string') {
    if (e.code === 'ERR_INVALID_ARG') return new UvsError(DECAP_ERROR_CODES.BAD_OPTION, err.message, { cause: err });
    return err;
  }
  const errno = e.code;
  const syscall = e.syscall;
  const why = `${syscall}: ${typeof e.reason === 'string' ? e.reason : errno} (${errno})`;
  let code: string;
  let message: string;
  if (syscall.startsWith('open') && (errno === 'ENOENT' || errno === 'ENODEV' || errno === 'ENXIO')) {
    code = DECAP_ERROR_CODES.NO_TUN;
    message =
      errno === 'ENOENT'
        ? `cannot create TUN device ${name}: there is no /dev/net/tun (${why}); create it with \`mkdir -p /dev/net && mknod /dev/net/tun c 10 200\` or load the tun module`
        : `cannot create TUN device ${name}: the kernel has no TUN support (${why}); it needs CONFIG_TUN`;
  } else if (errno === 'EPERM' || errno === 'EACCES') {
    code = DECAP_ERROR_CODES.PERMISSION;
    message = `permission denied creating TUN device ${name} (${why}); needs CAP_NET_ADMIN in this network namespace`;
  } else if (errno === 'EBUSY' || (errno === 'EINVAL' && syscall.startsWith('ioctl'))) {
    code = DECAP_ERROR_CODES.TUN_BUSY;
    message = `cannot attach TUN device ${name} (${why})${typeof e.detail === 'string' ? `: ${e.detail}` : ''}; pick another name with --tun`;
  } else {
    code = DECAP_ERROR_CODES.TUN;
    message = `cannot create TUN device ${name}: ${why}${typeof e.detail === 'string' ? `: ${e.detail}` : ''}`;
  }
  const out = new SystemError(code, errno, syscall, message);
  (out as Error).cause = err;
  return out;
}
