// PollSet: waits for frames on several sockets at once (a datapath worker owns one socket
// per interface). The ring status words are checked first, so a backlog is drained with no
// syscall at all; poll(2) runs only when every ring is empty. Allocates nothing per wait.

import { translateNativeError } from './errors.js';
import type { FrameSocket } from './frame-socket.js';
import type { RxRing } from './rx-ring.js';
import { loadNative, type NativeBinding } from './native.js';

export class PollSet {
  readonly sockets: readonly FrameSocket[];
  private readonly rings: readonly RxRing[];
  private readonly fds: Int32Array;
  private readonly native: NativeBinding;
  private readonly names: string;

  /** `rings`: the RX rings to watch, if not the sockets' own (e.g. from FrameSocket.combineRings). */
  constructor(sockets: readonly FrameSocket[], rings?: readonly (RxRing | null)[]) {
    if (sockets.length === 0 || sockets.length > 31) throw new RangeError('PollSet takes 1..31 sockets');
    const rx = sockets.map((s, i) => (rings ? rings[i] : s.rx) ?? null);
    rx.forEach((r, i) => {
      if (r === null) throw new RangeError(`PollSet: ${sockets[i]!.ifname} has no RX ring`);
    });
    this.rings = rx as RxRing[];
    this.sockets = sockets;
    this.fds = Int32Array.from(sockets, (s) => s.fd);
    this.native = loadNative();
    this.names = sockets.map((s) => s.ifname).join(',');
  }

  /** Bitmask of the sockets whose next RX block is ready now (bit i = sockets[i]). */
  ready(): number {
    let mask = 0;
    const r = this.rings;
    for (let i = 0; i < r.length; i++) if (r[i]!.ready()) mask |= 1 << i;
    return mask;
  }

  /**
   * Waits up to timeoutMs (-1 = forever) for any socket to have frames; returns the ready
   * mask (0 on timeout). Blocking: meant for worker threads or bounded waits.
   */
  wait(timeoutMs: number): number {
    const mask = this.ready();
    if (mask !== 0 || timeoutMs === 0) return mask;
    try {
      this.native.pollMany(this.fds, timeoutMs);
    } catch (err) {
      throw translateNativeError(err, this.names);
    }
    return this.ready();
  }
}
