// Random configuration tables that `ipvsadm -S` can express (no thresholds, netmask only
// when persistent, no flag-3 on sh/mh, which -S cannot name), for round-trip properties.
import { newServer, newService, type Method, type RealServer, type ServiceTable, type VirtualService } from '../../src/config/model.js';
import { emptyTable } from '../../src/config/model.js';
import ipaddr from 'ipaddr.js';

/** mulberry32: a small seeded generator, so failures replay. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomTable(random: () => number): ServiceTable {
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]!;
  const v4 = (): string => `${pick([10, 172, 192, 198, 203, 1, 100, 223])}.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`;
  const v6 = (): string => ipaddr.parse(`2001:db8:${int(0, 0xffff).toString(16)}::${int(1, 0xffff).toString(16)}`).toString();
  const table = emptyTable();
  const seen = new Set<string>();
  for (let n = int(0, 6); n > 0; n--) {
    const kind = pick(['tcp', 'udp', 'sctp', 'fwmark'] as const);
    const family = pick([4, 6] as const);
    const fwmark = kind === 'fwmark' ? int(1, 2 ** 32 - 1) : 0;
    const persistent = random() < 0.4 ? int(1, 2678400) : 0;
    const port = fwmark ? 0 : persistent && random() < 0.2 ? 0 : int(1, 65535);
    const identity = { protocol: kind === 'fwmark' ? 'tcp' : kind, address: fwmark ? '' : family === 4 ? v4() : v6(), port, fwmark, family } as const;
    const key = JSON.stringify(fwmark ? [fwmark, family] : [identity.protocol, identity.address, port]);
    if (seen.has(key)) continue;
    seen.add(key);
    const scheduler = pick(['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos', 'none']);
    const flagPool = scheduler === 'sh' || scheduler === 'mh' ? [`${scheduler}-fallback`, `${scheduler}-port`] : ['flag-1', 'flag-2', 'flag-3'];
    const mask = (): string => {
      if (!persistent) return family === 6 ? '128' : '255.255.255.255';
      if (family === 6) return String(int(1, 128));
      const w = int(0, 2 ** 32 - 1);
      return [w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255].join('.');
    };
    const service: VirtualService = {
      ...newService(identity),
      scheduler,
      persistent,
      netmask: mask(),
      schedFlags: flagPool.filter(() => random() < 0.3),
      onePacket: (kind === 'udp' || kind === 'fwmark') && random() < 0.3,
      pe: random() < 0.2 ? 'sip' : '',
    };
    const servers: RealServer[] = [];
    for (let m = int(0, 4); m > 0; m--) {
      const method = pick(['nat', 'dr', 'tun'] as Method[]);
      const serverFamily = method === 'tun' && random() < 0.3 ? (family === 4 ? 6 : 4) : family;
      const address = serverFamily === 4 ? v4() : v6();
      const rport = !fwmark && method !== 'nat' ? port : int(0, 65535);
      if (servers.some((r) => r.address === address && r.port === rport)) continue;
      const server: RealServer = { ...newServer(address, rport), method, weight: int(0, 65535) };
      if (method === 'tun') {
        server.tunType = pick(['ipip', 'gue', 'gre'] as const);
        if (server.tunType === 'gue') server.tunPort = int(1, 65535);
        if (server.tunType !== 'ipip') server.tunCsum = pick(server.tunType === 'gue' ? (['nocsum', 'csum', 'remcsum'] as const) : (['nocsum', 'csum'] as const));
      }
      servers.push(server);
    }
    table.services.push({ ...service, servers });
  }
  return table;
}

/** Order-independent form (-S sorts, as IPVS keeps no add order between services). */
export function normalized(table: ServiceTable): unknown {
  const key = (x: object): string => JSON.stringify(x);
  return {
    ...table,
    services: table.services
      .map((s) => ({ ...s, servers: [...s.servers].sort((a, b) => key(a).localeCompare(key(b))) }))
      .sort((a, b) => key({ ...a, servers: [] }).localeCompare(key({ ...b, servers: [] }))),
  };
}
