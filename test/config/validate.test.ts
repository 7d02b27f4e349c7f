// validateTable: each kernel/ipvsadm rule on a model, the message naming where the thing
// was defined (origin, else the file) and the offending value; every problem reported.
import t from 'tap';
import { UvsError } from '../../src/errors.js';
import { emptyTable, newServer, newService, type RealServer, type ServiceTable, type VirtualService } from '../../src/config/model.js';
import { tableProblems, validateTable } from '../../src/config/validate.js';

function table(mutate: (s: VirtualService, d: RealServer, table: ServiceTable) => void): ServiceTable {
  const tbl = emptyTable();
  const s = newService({ protocol: 'tcp', address: '10.0.0.1', port: 80, fwmark: 0, family: 4 });
  s.origin = 'c.cf:3';
  const d = { ...newServer('10.0.1.1', 8080), method: 'nat' as const, origin: 'c.cf:7' };
  s.servers.push(d);
  tbl.services.push(s);
  mutate(s, d, tbl);
  return tbl;
}

t.test('a good table passes', async (t) => {
  t.strictSame(tableProblems(table(() => {}), 'c.cf'), []);
  t.doesNotThrow(() => validateTable(table(() => {}), 'c.cf'));
});

t.test('every rule names where and the value', async (t) => {
  const cases: [string, (s: VirtualService, d: RealServer, tbl: ServiceTable) => void, string][] = [
    ['unknown scheduler', (s) => (s.scheduler = 'fastest'), 'c.cf:3: TCP 10.0.0.1:80: unknown scheduler "fastest" (have: rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos)'],
    ['weight', (_s, d) => (d.weight = 65536), 'c.cf:7: TCP 10.0.0.1:80 -> 10.0.1.1:8080: weight 65536: expected 0..65535'],
    ['negative weight', (_s, d) => (d.weight = -1), 'c.cf:7: TCP 10.0.0.1:80 -> 10.0.1.1:8080: weight -1: expected 0..65535'],
    ['lower above upper', (_s, d) => Object.assign(d, { upper: 5, lower: 8 }), 'c.cf:7: TCP 10.0.0.1:80 -> 10.0.1.1:8080: lower threshold 8 is above the upper threshold 5'],
    ['lower alone', (_s, d) => (d.lower = 2), 'c.cf:7: TCP 10.0.0.1:80 -> 10.0.1.1:8080: lower threshold 2 is above the upper threshold 0'],
    ['netmask', (s) => Object.assign(s, { persistent: 60, netmask: '255.0.255.0' }), 'c.cf:3: TCP 10.0.0.1:80: persistence netmask "255.0.255.0": expected a contiguous dotted netmask (e.g. 255.255.255.0)'],
    ['ipv6 netmask', (s, d) => Object.assign(s, { family: 6, address: '2001:db8::1', netmask: '255.255.255.0' }) && Object.assign(d, { address: '2001:db8::10' }), 'c.cf:3: TCP [2001:db8::1]:80: persistence netmask "255.255.255.0": an IPv6 service takes a prefix length 1..128'],
    ['persistence', (s) => (s.persistent = 2678401), 'c.cf:3: TCP 10.0.0.1:80: persistence timeout 2678401: expected 1..2678400 seconds (0 = not persistent)'],
    ['port 0', (s) => (s.port = 0), 'c.cf:3: TCP 10.0.0.1:0: zero port specified for non-persistent service (a port-0 service must be persistent)'],
    ['dr port', (_s, d) => (d.method = 'dr'), 'c.cf:7: TCP 10.0.0.1:80 -> 10.0.1.1:8080: dr forwarding keeps the service port 80; only nat can map to port 8080'],
    ['fwmark dr port', (s, d) => Object.assign(s, { fwmark: 4, address: '', port: 0 }) && Object.assign(d, { method: 'tun', port: 80 }), "c.cf:7: FWM 4 -> 10.0.1.1:80: tun forwarding keeps the packet's port (server port 0); only nat can map to port 80"],
    ['fwmark with address', (s) => (s.fwmark = 4), 'c.cf:3: FWM 4: a fwmark service matches by mark only; it has the address "10.0.0.1"'],
    ['duplicate service', (s, _d, tbl) => tbl.services.push({ ...structuredClone(s), origin: 'c.cf:20' }), 'c.cf:20: TCP 10.0.0.1:80: duplicate service (also at c.cf:3)'],
    ['duplicate server', (s, d) => s.servers.push({ ...d, origin: 'c.cf:9' }), 'c.cf:9: TCP 10.0.0.1:80 -> 10.0.1.1:8080: duplicate real server (also at c.cf:7)'],
    ['flag of another scheduler', (s) => (s.schedFlags = ['sh-port']), 'c.cf:3: TCP 10.0.0.1:80: incompatible scheduler flag "sh-port": it needs scheduler sh, the service uses wlc'],
    ['unknown flag', (s) => (s.schedFlags = ['fast']), 'c.cf:3: TCP 10.0.0.1:80: invalid scheduler flag "fast" (expected one of flag-1, flag-2, flag-3, sh-fallback, sh-port, mh-fallback, mh-port)'],
    ['ops on tcp', (s) => (s.onePacket = true), 'c.cf:3: TCP 10.0.0.1:80: one-packet scheduling is only for UDP virtual services (and fwmark services)'],
    ['pe', (s) => (s.pe = 'http'), 'c.cf:3: TCP 10.0.0.1:80: unknown persistence engine "http" (have: sip)'],
    ['family', (_s, d) => (d.address = '2001:db8::10'), 'c.cf:7: TCP 10.0.0.1:80 -> [2001:db8::10]:8080: an IPv6 server in an IPv4 service: a different address family is allowed only for tunnelling servers'],
    ['tunnel options', (_s, d) => (d.tunType = 'gre'), 'c.cf:7: TCP 10.0.0.1:80 -> 10.0.1.1:8080: tunnel options conflict with the forwarding method: they need tun'],
    ['gue port', (_s, d) => Object.assign(d, { method: 'tun', port: 80, tunType: 'gue' }), 'c.cf:7: TCP 10.0.0.1:80 -> 10.0.1.1:80: a gue tunnel needs its port 1..65535, got undefined'],
    ['timeouts', (_s, _d, tbl) => (tbl.timeouts.udp = -1), 'c.cf: udp timeout -1: expected 0..2678400 seconds'],
    ['owned', (_s, _d, tbl) => tbl.director.owned.push('gateway'), 'c.cf: owned address "gateway": expected an IPv4 or IPv6 address'],
    ['no origin', (s) => Object.assign(s, { origin: undefined, scheduler: 'x' }), 'c.cf: TCP 10.0.0.1:80: unknown scheduler "x" (have: rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos)'],
  ];
  for (const [what, mutate, message] of cases) {
    t.strictSame(tableProblems(table(mutate), 'c.cf'), [message], what);
  }
});

t.test('validateTable throws one UVS_CONFIG error listing every problem', async (t) => {
  const bad = table((s, d) => {
    s.scheduler = 'nope';
    d.weight = 1e6;
  });
  const err = t.throws(() => validateTable(bad, 'c.cf'), { name: 'UvsError', code: 'UVS_CONFIG' });
  t.ok(err instanceof UvsError);
  t.strictSame((err as UvsError).message.split('\n'), [
    'c.cf:3: TCP 10.0.0.1:80: unknown scheduler "nope" (have: rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos)',
    'c.cf:7: TCP 10.0.0.1:80 -> 10.0.1.1:8080: weight 1000000: expected 0..65535',
  ]);
});
