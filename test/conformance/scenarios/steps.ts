// Small builders for scenario steps: ipvsadm lines, a client's connection (SYN then ACK:
// ESTABLISHED without a real server, since IPVS moves SYN_RECV to ESTABLISHED on the
// client's ACK), a reset, and the listing step.

import type { Step } from './script.js';
import { NET, type Segment } from './topology.js';

export const ipvsadm = (...args: (string | number)[]): Step => ({ op: 'ipvsadm', args: args.map(String) });
export const observe = (): Step => ({ op: 'observe' });
export const sleep = (seconds: number): Step => ({ op: 'sleep', seconds });

export const rs = (i: number, port: number): string => `${NET.servers[i]}:${port}`;

export interface Conn {
  client: string;
  sport: number;
  vip?: string;
  port: number;
}

export function fromClient(c: Conn, flags: string): Segment {
  return { side: 'c', src: c.client, sport: c.sport, dst: c.vip ?? NET.vip, dport: c.port, flags };
}

/** The real server's answer (to the VIP's client, as NAT replies travel). */
export function fromServer(c: Conn, server: number, flags: string, port = c.port): Segment {
  return { side: 's', src: NET.servers[server]!, sport: port, dst: c.client, dport: c.sport, flags };
}

/** New connections, each SYN then ACK from the client (established, active on the kernel's count). */
export function connect(conns: Conn[]): Step {
  return { op: 'send', segments: conns.flatMap((c) => [fromClient(c, 'S'), fromClient(c, 'A')]) };
}

/** Half-open connections (SYN only). */
export function syn(conns: Conn[]): Step {
  return { op: 'send', segments: conns.map((c) => fromClient(c, 'S')) };
}

export function reset(conns: Conn[]): Step {
  return { op: 'send', segments: conns.map((c) => fromClient(c, 'R')) };
}

export function send(...segments: Segment[]): Step {
  return { op: 'send', segments };
}
