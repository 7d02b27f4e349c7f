// watchesOf: the reference examples (lvs.cf NAT and DR, keepalived NAT) become the watches
// nanny and keepalived would run — period, timeout, retries, delay before retry, rise; the
// target port rules (check port, server port, fwmark servers, well-known ports); checks
// that cannot run are named in warnings; the defaults where the model is silent.
import t from 'tap';
import { loadKeepalived } from '../../src/config/keepalived.js';
import { loadLvsCf } from '../../src/config/lvs-cf.js';
import { emptyTable, newServer, newService, type HealthCheck, type ServiceTable, type VirtualService } from '../../src/config/model.js';
import { watchesOf, watchKey, type CheckSchedule } from '../../src/health/watches.js';
import { KEEPALIVED_NAT, LVS_CF_DR, LVS_CF_NAT } from '../config/fixtures/examples.js';

/** The timing part of a schedule, for comparing. */
const timing = (c: CheckSchedule) => ({ label: c.label, protocol: c.protocol, target: c.target, intervalMs: c.intervalMs, timeoutMs: c.timeoutMs, retryDelayMs: c.retryDelayMs, warmupMs: c.warmupMs, rules: c.rules });

t.test('lvs.cf NAT (§5.1): nanny timing — timeout is period and timeout, one failure, floor(reentry/timeout) to re-enter', async (t) => {
  const { watches, warnings } = watchesOf(loadLvsCf(LVS_CF_NAT, 'lvs.cf'));
  t.strictSame(warnings, []);
  t.strictSame(watches.map((w) => [w.key, w.weight, w.checks.map(timing)]), [
    ['TCP 203.0.113.100:80 -> 192.168.10.11:8080', 1, [{ label: 'send-expect', protocol: 'tcp', target: { address: '192.168.10.11', port: 8080 }, intervalMs: 6000, timeoutMs: 6000, retryDelayMs: 6000, warmupMs: 6000, rules: { retries: 1, rise: 5, initiallyUp: true } }]],
    ['TCP 203.0.113.100:80 -> 192.168.10.12:8080', 2, [{ label: 'send-expect', protocol: 'tcp', target: { address: '192.168.10.12', port: 8080 }, intervalMs: 6000, timeoutMs: 6000, retryDelayMs: 6000, warmupMs: 6000, rules: { retries: 1, rise: 5, initiallyUp: true } }]],
    ['UDP 203.0.113.101:53 -> 192.168.10.21:53', 1, [{ label: 'external', protocol: 'udp', target: { address: '192.168.10.21', port: 53 }, intervalMs: 5000, timeoutMs: 5000, retryDelayMs: 5000, warmupMs: 5000, rules: { retries: 1, rise: 3, initiallyUp: true } }]],
  ]);
  t.equal(watches[0]!.service, 'TCP 203.0.113.100:80');
  t.equal(watches[0]!.server, '192.168.10.11:8080');
  t.equal(watches[0]!.checks[0]!.spec.send, 'GET /health HTTP/1.0\r\n\r\n', 'the model check is handed over as is');
  t.equal(watches[0]!.rampStepMs, 0);
  t.equal(watchesOf(loadLvsCf(LVS_CF_NAT, 'lvs.cf'), { ramp: true }).watches[0]!.rampStepMs, 20000, 'nanny ramp on request');
});

t.test('lvs.cf DR (§5.2): fwmark servers (port 0) probe the virtual port', async (t) => {
  const { watches } = watchesOf(loadLvsCf(LVS_CF_DR, 'lvs.cf'));
  t.strictSame(
    watches.map((w) => [w.key, w.checks[0]!.target.port, w.checks[0]!.rules.rise]),
    [
      ['TCP 192.0.2.100:80 -> 192.0.2.11:80', 80, 4],
      ['TCP 192.0.2.100:80 -> 192.0.2.12:80', 80, 4],
      ['FWM 80 -> 192.0.2.11:0', 443, 4],
    ],
  );
});

t.test('keepalived NAT (§9): delay_loop, connect_timeout, retry + 1 failures, delay_before_retry, misc_timeout', async (t) => {
  const { watches, warnings } = watchesOf(loadKeepalived(KEEPALIVED_NAT, 'k.conf').table);
  t.strictSame(warnings, []);
  t.strictSame(watches.map((w) => [w.key, w.checks.map(timing)]), [
    ['TCP 203.0.113.100:80 -> 192.168.10.11:8080', [{ label: 'HTTP_GET', protocol: 'tcp', target: { address: '192.168.10.11', port: 8080 }, intervalMs: 6000, timeoutMs: 3000, retryDelayMs: 2000, warmupMs: 6000, rules: { retries: 3, rise: 1, initiallyUp: true } }]],
    ['TCP 203.0.113.100:80 -> 192.168.10.12:8080', [{ label: 'TCP_CHECK', protocol: 'tcp', target: { address: '192.168.10.12', port: 8080 }, intervalMs: 6000, timeoutMs: 3000, retryDelayMs: 1000, warmupMs: 6000, rules: { retries: 2, rise: 1, initiallyUp: true } }]],
    ['UDP 203.0.113.100:53 -> 192.168.10.21:53', [{ label: 'MISC_CHECK', protocol: 'udp', target: { address: '192.168.10.21', port: 53 }, intervalMs: 5000, timeoutMs: 3000, retryDelayMs: 1000, warmupMs: 5000, rules: { retries: 1, rise: 1, initiallyUp: true } }]],
  ]);
});

t.test('keepalived alpha, warmup, several checkers and unsupported ones', async (t) => {
  const conf = `virtual_server 10.0.0.100 80 {
  protocol TCP
  lvs_method NAT
  delay_loop 2
  alpha
  quorum 2
  real_server 10.0.1.1 80 {
    warmup 0
    TCP_CHECK { connect_timeout 1 }
    HTTP_GET { url { path /a } url { path /b } }
  }
  real_server 10.0.1.2 80 {
    DNS_CHECK { name example.com }
  }
  real_server 10.0.1.3 80 {
    weight 3
  }
}
`;
  const { watches, warnings } = watchesOf(loadKeepalived(conf, 'k.conf').table);
  t.strictSame(warnings, ['TCP 10.0.0.100:80 -> 10.0.1.2:80: uvs has no DNS_CHECK checker; this check is not run']);
  t.equal(watches.length, 1, 'servers without a runnable check are not watched (always up)');
  t.strictSame(watches[0]!.checks.map((c) => [c.label, c.spec.path, c.warmupMs, c.rules.initiallyUp]), [
    ['TCP_CHECK', undefined, 0, false],
    ['HTTP_GET', '/a', 0, false],
    ['HTTP_GET', '/b', 0, false],
  ]);
});

function table(mutate: (s: VirtualService) => void): ServiceTable {
  const tbl = emptyTable();
  const s = newService({ protocol: 'tcp', address: '10.0.0.1', port: 80, fwmark: 0, family: 4 });
  s.servers.push({ ...newServer('10.0.1.1', 8080), method: 'nat' });
  mutate(s);
  tbl.services.push(s);
  return tbl;
}
const only = (tbl: ServiceTable): CheckSchedule => watchesOf(tbl).watches[0]!.checks[0]!;

t.test('defaults where the model is silent: 10 s period and timeout, one either way, 1 failure, 1 success', async (t) => {
  t.strictSame(timing(only(table((s) => (s.health = { kind: 'tcp' })))), {
    label: 'tcp', protocol: 'tcp', target: { address: '10.0.1.1', port: 8080 }, intervalMs: 10000, timeoutMs: 10000, retryDelayMs: 10000, warmupMs: 10000, rules: { retries: 1, rise: 1, initiallyUp: true },
  });
  t.match(only(table((s) => (s.health = { kind: 'tcp', timeout: 3 }))), { intervalMs: 3000, timeoutMs: 3000 }, 'a timeout alone is the period too (nanny -t)');
  t.match(only(table((s) => (s.health = { kind: 'tcp', interval: 4 }))), { intervalMs: 4000, timeoutMs: 4000 });
  t.match(only(table((s) => (s.health = { kind: 'tcp', interval: 0.5, timeout: 0.25, retries: 0, riseCount: -2 }))), { intervalMs: 500, timeoutMs: 250, rules: { retries: 1, rise: 1 } }, 'fractions kept, nonsense counts made 1');
  t.match(only(table((s) => (s.health = { kind: 'tcp', extra: { delay_before_retry: 'soon', warmup: '' } }))), { retryDelayMs: 10000, warmupMs: 10000 }, 'unreadable extras: the defaults');
  t.match(only(table((s) => (s.health = { kind: 'tcp', port: 9000 }))), { target: { port: 9000 } }, "the check's port wins");
  // The server's own check replaces the service's; additional checks come after.
  const both = watchesOf(table((s) => {
    s.health = { kind: 'tcp' };
    s.servers[0]!.health = { kind: 'http', path: '/x' };
    s.servers[0]!.additionalHealth = [{ kind: 'icmp' }];
  })).watches[0]!;
  t.strictSame(both.checks.map((c) => c.spec.kind), ['http', 'icmp']);
});

t.test('ports: fwmark servers without any port — HTTP 80, HTTPS 443, ICMP/external none, TCP not run (warned)', async (t) => {
  const fwm = (kinds: HealthCheck['kind'][]) =>
    watchesOf(table((s) => {
      Object.assign(s, { fwmark: 7, address: '', port: 0 });
      Object.assign(s.servers[0]!, { port: 0, method: 'dr' });
      s.servers[0]!.health = { kind: kinds[0]! };
      s.servers[0]!.additionalHealth = kinds.slice(1).map((kind) => ({ kind }));
    }));
  const { watches, warnings } = fwm(['http', 'https', 'icmp', 'external', 'tcp', 'send-expect']);
  t.strictSame(watches[0]!.checks.map((c) => [c.spec.kind, c.target.port]), [['http', 80], ['https', 443], ['icmp', 0], ['external', 0]]);
  t.strictSame(warnings, [
    'FWM 7 -> 10.0.1.1:0: no port to probe for the tcp check (give the check a port); this check is not run',
    'FWM 7 -> 10.0.1.1:0: no port to probe for the send-expect check (give the check a port); this check is not run',
  ]);
});

t.test('kind none carries settings only; SCTP services get no connection checks; IPv6 keys in brackets', async (t) => {
  t.strictSame(watchesOf(table((s) => (s.health = { kind: 'none', extra: { quorum: '2' } }))), { watches: [], warnings: [] });
  const sctp = watchesOf(table((s) => {
    s.protocol = 'sctp';
    s.health = { kind: 'tcp' };
    s.servers[0]!.additionalHealth = [{ kind: 'icmp' }];
  }));
  t.strictSame(sctp.warnings, ['SCTP 10.0.0.1:80 -> 10.0.1.1:8080: no tcp check over SCTP; this check is not run']);
  t.strictSame(sctp.watches[0]!.checks.map((c) => c.spec.kind), ['icmp']);
  const v6 = newService({ protocol: 'tcp', address: '2001:db8::1', port: 80, fwmark: 0, family: 6 });
  t.equal(watchKey(v6, { address: '2001:db8::10', port: 8080 }), 'TCP [2001:db8::1]:80 -> [2001:db8::10]:8080');
});

t.test('lvs.cf load_monitor becomes an agent check on port 9002', async (t) => {
  const { loadLvsCf } = await import('../../src/config/lvs-cf.js');
  const table = loadLvsCf(`primary = 10.0.0.2\nservice = lvs\nnetwork = direct\n\nvirtual web {\n     active = 1\n     address = 10.0.0.100 eth0:1\n     port = 9000\n     protocol = tcp\n     timeout = 2\n     load_monitor = uptime\n\n     server a {\n         address = 10.0.1.1\n         active = 1\n         weight = 10\n     }\n}\n`, 'lvs.cf');
  const { watches } = watchesOf(table);
  t.equal(watches.length, 1);
  t.same(watches[0]!.checks.map((c) => [c.label, c.target.port, c.intervalMs]), [['tcp', 9000, 2000], ['AGENT_CHECK', 9002, 2000]], 'the nanny check, then the agent');
  const none = watchesOf(loadLvsCf(`primary = 10.0.0.2\nservice = lvs\nnetwork = direct\n\nvirtual web {\n     active = 1\n     address = 10.0.0.100 eth0:1\n     port = 9000\n     protocol = tcp\n     load_monitor = none\n\n     server a {\n         address = 10.0.1.1\n         active = 1\n     }\n}\n`, 'lvs.cf')).watches;
  t.equal(none[0]!.checks.length, 1, 'load_monitor = none: no agent');
});
