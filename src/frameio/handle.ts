// The state a frame socket shares with its rings: the fd and whether it is closed.
// Rings check `closed` before any syscall so a closed (and possibly reused) fd is never
// polled or kicked, and before touching their (then detached) buffers.

import os from 'node:os';
import type { NativeBinding } from './native.js';

export interface SocketHandle {
  readonly fd: number;
  readonly ifname: string;
  readonly native: NativeBinding;
  closed: boolean;
}

/** Ring headers and the virtio-net header are in host byte order. */
export const HOST_LE = os.endianness() === 'LE';
