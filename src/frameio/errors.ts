// Translation of native shim errors (Error with code = errno name, syscall, ifname) into the
// project's coded SystemError / UvsError.

import { SystemError, UvsError } from '../errors.js';

export const FRAMEIO_ERROR_CODES = {
  /** The interface does not exist (in this network namespace). */
  NO_INTERFACE: 'UVS_FRAMEIO_NO_INTERFACE',
  /** EPERM/EACCES: missing CAP_NET_RAW (or CAP_NET_ADMIN for a privileged option). */
  PERMISSION: 'UVS_FRAMEIO_PERMISSION',
  /** The kernel (or the size check before it) refused the ring geometry, or mmap failed. */
  RING: 'UVS_FRAMEIO_RING',
  /** Joining a fanout group or setting its program failed. */
  FANOUT: 'UVS_FRAMEIO_FANOUT',
  /** The kernel refused a socket filter program. */
  FILTER: 'UVS_FRAMEIO_FILTER',
  /** Any other failing system call. */
  SYSCALL: 'UVS_FRAMEIO_SYSCALL',
  /** A bad argument (type, range, format). */
  INVALID_ARGUMENT: 'UVS_FRAMEIO_INVALID_ARGUMENT',
  /** The socket was used after close(). */
  CLOSED: 'UVS_FRAMEIO_CLOSED',
  /** The native addon is not built / cannot be loaded. */
  NATIVE_MISSING: 'UVS_FRAMEIO_NATIVE_MISSING',
} as const;

interface NativeErrorShape {
  code?: unknown;
  syscall?: unknown;
  ifname?: unknown;
  reason?: unknown;
  detail?: unknown;
}

const RING_SYSCALLS = new Set([
  'setsockopt(PACKET_RX_RING)',
  'setsockopt(PACKET_TX_RING)',
  'setsockopt(PACKET_VERSION)',
  'mmap',
]);

/** Which capability a failing call needs, for the permission message. */
function capabilityFor(syscall: string): string {
  if (syscall.startsWith('socket(AF_PACKET)'))
    return 'CAP_NET_RAW (AF_PACKET sockets need it in the network namespace that owns the interface)';
  if (syscall.includes('FORCE'))
    return 'CAP_NET_ADMIN (to exceed the net.core.{r,w}mem_max buffer limits)';
  return 'CAP_NET_RAW, and CAP_NET_ADMIN for privileged socket options';
}

/**
 * Converts an error thrown by the native shim into a SystemError (for syscall failures) or
 * UvsError (argument errors). `ifname` is the interface the caller was working on, used when
 * the native error does not name one. Anything else is returned unchanged.
 */
export function translateNativeError(err: unknown, ifname?: string): unknown {
  if (!(err instanceof Error)) return err;
  const e = err as Error & NativeErrorShape;
  if (err instanceof UvsError) return err;
  if (typeof e.syscall !== 'string' || typeof e.code !== 'string') {
    if (err instanceof TypeError || e.code === 'ERR_INVALID_ARG')
      return new UvsError(FRAMEIO_ERROR_CODES.INVALID_ARGUMENT, err.message, { cause: err });
    return err;
  }
  const errno = e.code;
  const syscall = e.syscall;
  const dev = typeof e.ifname === 'string' ? e.ifname : ifname;
  const on = dev ? ` on interface ${dev}` : '';
  const reason = typeof e.reason === 'string' ? e.reason : errno;
  const extra = typeof e.detail === 'string' ? `: ${e.detail}` : '';
  const detail = `${syscall} failed: ${reason} (${errno})${extra}`;
  let code: string;
  let message: string;
  if (errno === 'EPERM' || errno === 'EACCES') {
    code = FRAMEIO_ERROR_CODES.PERMISSION;
    message = `permission denied${on}: ${detail}; needs ${capabilityFor(syscall)}`;
  } else if (
    (errno === 'ENODEV' || errno === 'ENXIO') &&
    (syscall === 'if_nametoindex' || syscall === 'bind' || syscall.startsWith('ioctl'))
  ) {
    code = FRAMEIO_ERROR_CODES.NO_INTERFACE;
    message = `no interface named ${dev ?? '(unknown)'} in this network namespace (${syscall}: ${errno})`;
  } else if (RING_SYSCALLS.has(syscall)) {
    code = FRAMEIO_ERROR_CODES.RING;
    message =
      `cannot set up the packet ring${on}: ${detail}` +
      (errno === 'EINVAL'
        ? ' (block size must be a multiple of the page size, frame size a multiple of 16, ' +
          '>= 68 and <= block size, frames per block times block count must fit in 32 bits)'
        : '');
  } else if (syscall.startsWith('setsockopt(PACKET_FANOUT')) {
    code = FRAMEIO_ERROR_CODES.FANOUT;
    message = `fanout${on}: ${detail}`;
  } else if (syscall.startsWith('setsockopt(SO_ATTACH_FILTER')) {
    code = FRAMEIO_ERROR_CODES.FILTER;
    message = `socket filter rejected${on}: ${detail}`;
  } else {
    code = FRAMEIO_ERROR_CODES.SYSCALL;
    message = `frame I/O${on}: ${detail}`;
  }
  const out = new SystemError(code, errno, syscall, message);
  (out as Error).cause = err;
  return out;
}

/** Runs fn, rethrowing native errors translated. */
export function callNative<T>(ifname: string | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw translateNativeError(err, ifname);
  }
}

export function closedError(ifname: string): UvsError {
  return new UvsError(FRAMEIO_ERROR_CODES.CLOSED, `frame socket on ${ifname} is closed`);
}

export function invalidArgument(message: string): UvsError {
  return new UvsError(FRAMEIO_ERROR_CODES.INVALID_ARGUMENT, message);
}
