// Deliberate differences between kernel IPVS and uvs, each with its reason, and how the
// comparison sets them aside. Each is applied to the kernel's observations only, so if uvs
// ever did the same, the comparison would show it. Listed in docs/conformance.md.

import type { Observation } from './scenarios/script.js';

export interface DeliberateDifference {
  id: string;
  what: string;
  why: string;
  /** Kernel observation lines this difference accounts for (dropped before comparing). */
  kernelLine?: RegExp;
}

export const DELIBERATE: DeliberateDifference[] = [
  {
    id: 'D1',
    what: 'A TCP segment that is not a SYN, sent to a VIP:port with no connection entry (or with no server available), is answered by the kernel with a RST from the VIP; uvs sends nothing.',
    why: 'IPVS lets such a segment through to the director\'s own TCP stack (the VIP is a local address there, with no listener), which resets it. uvs keeps the host stack out of VIP traffic (docs/isolation.md) and, like IPVS itself, has no connection to forward it on; the client\'s own timeout or the real server\'s RST ends such flows.',
    kernelLine: /^ {2}c \S+ ttl=64 TCP 198\.18\.0\.10[0-7]:\d+ > \S+ \[RA?\]$/,
  },
  {
    id: 'D2',
    what: 'A weight above 65535 (`-w 70000`): Debian\'s ipvsadm 1:1.31-1 accepts it (exit 0) and the kernel stores it; uvsadm rejects it with "illegal weight specified" (exit 2), so a following `-d` of that server fails on uvs with "No such destination" (exit 255).',
    why: 'uvsadm follows upstream ipvsadm 1.31 (shared/reference/ipvsadm.md), which rejects weights above 65535; Debian carries a patch raising the limit to INT_MAX. The session checks each side against its documented behaviour for these two steps.',
  },
];

/** The kernel's observations without the lines the deliberate differences account for. */
export function withoutDeliberate(kernel: Observation[]): Observation[] {
  return kernel.map((o) => ({ ...o, lines: o.lines.filter((l) => !DELIBERATE.some((d) => d.kernelLine?.test(l))) }));
}
