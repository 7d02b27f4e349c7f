// Routes for the datapath: the director's IPv4 forwarding table as typed arrays, longest
// prefix first, so a lookup is a short linear scan with no allocation. Built from the
// kernel's main table (uvs routes exactly as the director's host would) or given
// explicitly; interfaces are referred to by their position in the datapath's port list.

import { execFileSync } from 'node:child_process';
import { UvsError } from '../errors.js';
import { ip4FromString } from '../packet/addr.js';

export interface RouteSpec {
  /** Network (uint32) and prefix length. */
  net: number;
  len: number;
  /** Position of the output interface in the datapath's port list. */
  port: number;
  /** Next hop (uint32); 0 = on-link (the destination itself). */
  gateway: number;
}

export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** Parses "a.b.c.d/len" (or "default") into net/len; `where` names the source in errors. */
export function parsePrefix(text: string, where: string): { net: number; len: number } {
  if (text === 'default') return { net: 0, len: 0 };
  const m = /^(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?$/.exec(text);
  const len = m ? Number(m[2] ?? 32) : -1;
  if (!m || len > 32) throw new UvsError('UVS_BAD_ROUTE', `${where}: '${text}' is not an IPv4 prefix a.b.c.d/len`);
  return { net: (ip4FromString(m[1]!) & prefixMask(len)) >>> 0, len };
}

/**
 * Reads the kernel's IPv4 main table in this network namespace and keeps the routes whose
 * device is one of `interfaces` (e.g. the on-link subnets and the default route).
 */
export function kernelRoutes(interfaces: readonly string[]): RouteSpec[] {
  let json: string;
  try {
    json = execFileSync('ip', ['-j', '-4', 'route', 'show', 'table', 'main'], { encoding: 'utf8' });
  } catch (err) {
    throw new UvsError('UVS_BAD_ROUTE', `cannot read the kernel's routes with 'ip -j route': ${(err as Error).message}`);
  }
  const routes: RouteSpec[] = [];
  for (const r of JSON.parse(json) as { dst: string; gateway?: string; dev?: string; type?: string }[]) {
    const port = r.dev === undefined ? -1 : interfaces.indexOf(r.dev);
    if (port < 0 || (r.type !== undefined && r.type !== 'unicast')) continue;
    routes.push({ ...parsePrefix(r.dst, 'kernel route'), port, gateway: r.gateway ? ip4FromString(r.gateway) : 0 });
  }
  return routes;
}

export class RouteTable {
  private readonly net: Uint32Array;
  private readonly mask: Uint32Array;
  /** By route: output port and next hop (0 = on-link). */
  readonly port: Int32Array;
  readonly gateway: Uint32Array;

  constructor(routes: readonly RouteSpec[]) {
    const sorted = [...routes].sort((a, b) => b.len - a.len);
    this.net = Uint32Array.from(sorted, (r) => r.net);
    this.mask = Uint32Array.from(sorted, (r) => prefixMask(r.len));
    this.port = Int32Array.from(sorted, (r) => r.port);
    this.gateway = Uint32Array.from(sorted, (r) => r.gateway);
  }

  /** Index of the longest matching route for dst, or -1. */
  lookup(dst: number): number {
    const net = this.net;
    const mask = this.mask;
    for (let i = 0; i < net.length; i++) if (((dst & mask[i]!) >>> 0) === net[i]) return i;
    return -1;
  }

  /** The next hop for dst through route i: its gateway, or dst itself on-link. */
  nextHop(i: number, dst: number): number {
    const g = this.gateway[i]!;
    return g !== 0 ? g : dst;
  }
}
