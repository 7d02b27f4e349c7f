// The forward config (JSON): what issue 4 adds (persistence, netmask, scheduler flags,
// thresholds, firewall-mark services and rules, timeouts, sysctls), its snapshot, and bad
// input: every error names the file, the JSON path and the offending value.
import t from 'tap';
import { ip4FromString } from '../../src/packet/addr.js';
import { isolationRulesOf, parseForwardConfig, snapshotOf } from '../../src/datapath/config.js';
import { SCHED_F_FALLBACK, SCHED_F_PORT } from '../../src/schedulers/index.js';
import { TCP_ESTABLISHED, TCP_FIN_WAIT, UDP_STATE } from '../../src/tables/tcp-states.js';

const server = { address: '198.19.0.11', method: 'nat' };
const svc = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ protocol: 'tcp', address: '198.18.0.100', port: 80, servers: [server], ...extra });
const cfg = (services: unknown[], extra: Record<string, unknown> = {}): string => JSON.stringify({ interfaces: ['pub0', 'priv0'], services, ...extra });

t.test('persistence, flags, thresholds, fwmark, timeouts and sysctls reach the snapshot', async (t) => {
  const c = parseForwardConfig(
    cfg(
      [
        svc({ scheduler: 'sh', schedFlags: ['sh-fallback', 'sh-port'], persistent: 600, netmask: '255.255.255.0', servers: [{ ...server, upper: 10, lower: 5 }] }),
        { fwmark: 3, scheduler: 'wlc', persistent: true, servers: [{ address: '198.19.0.12', method: 'dr' }] },
      ],
      {
        markRules: ['-t mangle -A PREROUTING -p tcp -d 198.18.0.101/32 -m multiport --dports 80,443 -j MARK --set-mark 3'],
        timeouts: { tcp: 60, tcpfin: 0, udp: 5 },
        sysctl: { expire_nodest_conn: 1, expire_quiescent_template: 1, conn_reuse_mode: 2 },
      },
    ),
    'cfg.json',
  );
  const snap = snapshotOf(c, [], new Map());
  const [a, f] = snap.services;
  t.equal(a!.schedFlags, SCHED_F_FALLBACK | SCHED_F_PORT, 'sh-fallback,sh-port');
  t.same(a!.persistence, { timeout: 600, netmask: ip4FromString('255.255.255.0') });
  t.same([a!.dests[0]!.upper, a!.dests[0]!.lower], [10, 5], 'thresholds');
  t.equal(f!.fwmark, 3);
  t.equal(f!.persistence?.timeout, 360, '-p without a value: 360 s (ipvsadm)');
  t.equal(f!.dests[0]!.port, 0, 'fwmark servers default to port 0 (the packet\'s port)');
  t.equal(snap.timeouts![TCP_ESTABLISHED], 60);
  t.equal(snap.timeouts![TCP_FIN_WAIT], 120, '0 keeps the default');
  t.equal(snap.timeouts![UDP_STATE], 5);
  t.same(snap.sysctl, { expireNodestConn: 1, expireQuiescentTemplate: 1, connReuseMode: 2, sloppyTcp: 0, dropEntry: 0, lblcExpiration: 86400, lblcrExpiration: 86400 });
  t.ok(snap.owned.includes(ip4FromString('198.18.0.101')), 'the mark rule\'s destination is owned (ARP)');
  const iso = isolationRulesOf(c);
  t.same(iso.services?.filter((s) => s.vip === '198.18.0.101').map((s) => s.port).sort(), [443, 80], 'the marked ports are kept from the kernel');
  t.equal(snap.markRules?.length, 1);
});

t.test('bad input: clear errors naming the value and where it is', async (t) => {
  const bad: [string, string, RegExp][] = [
    ['unknown scheduler', cfg([svc({ scheduler: 'fastest' })]), /cfg\.json: \$\.services\[0\]\.scheduler: unknown scheduler "fastest" \(have: rr, /],
    ['weight above 65535', cfg([svc({ servers: [{ ...server, weight: 70000 }] })]), /\$\.services\[0\]\.servers\[0\]\.weight: expected an integer 0\.\.65535, got 70000/],
    ['negative weight', cfg([svc({ servers: [{ ...server, weight: -1 }] })]), /weight: expected an integer 0\.\.65535, got -1/],
    ['lower > upper', cfg([svc({ servers: [{ ...server, upper: 5, lower: 8 }] })]), /servers\[0\]\.lower: lower threshold 8 is above the upper threshold 5/],
    ['lower without upper', cfg([svc({ servers: [{ ...server, lower: 2 }] })]), /lower threshold 2 is above the upper threshold 0/],
    ['netmask not contiguous', cfg([svc({ persistent: 60, netmask: '255.0.255.0' })]), /\$\.services\[0\]\.netmask: netmask 255\.0\.255\.0 is not contiguous/],
    ['netmask without persistence', cfg([svc({ netmask: '255.255.255.0' })]), /netmask applies to persistent services only/],
    ['port 0 not persistent', cfg([svc({ port: 0 })]), /zero port specified for non-persistent service tcp 198\.18\.0\.100:0/],
    ['sched flag of another scheduler', cfg([svc({ scheduler: 'rr', schedFlags: ['sh-port'] })]), /incompatible scheduler flag "sh-port": it needs scheduler sh, the service uses rr/],
    ['unknown sched flag', cfg([svc({ schedFlags: ['fast'] })]), /invalid scheduler flag "fast"/],
    ['fwmark with an address', cfg([{ fwmark: 1, address: '1.2.3.4', servers: [] }]), /services\[0\]\.address: a firewall-mark service \(fwmark 1\) matches by mark only/],
    ['fwmark 0', cfg([{ fwmark: 0, servers: [] }]), /fwmark: expected an integer 1\.\.4294967295, got 0/],
    ['duplicate fwmark', cfg([{ fwmark: 2, servers: [] }, { fwmark: 2, servers: [] }]), /services\[1\]: duplicate service fwmark 2/],
    ['timeout too large', cfg([svc()], { timeouts: { tcp: 9999999 } }), /\$\.timeouts\.tcp: expected an integer 0\.\.2678400/],
    ['unknown sysctl', cfg([svc()], { sysctl: { drop_packet: 1 } }), /\$\.sysctl\.drop_packet: unknown key/],
    ['sysctl out of range', cfg([svc()], { sysctl: { expire_nodest_conn: 2 } }), /expire_nodest_conn: expected an integer 0\.\.1, got 2/],
    ['bad mark rule', cfg([svc()], { markRules: ['-t mangle -A PREROUTING -p tcp --dport 99999 -j MARK --set-mark 1'] }), /cfg\.json: \$\.markRules:1: .*99999/],
    ['mark rule outside mangle', cfg([svc()], { markRules: ['-A PREROUTING -p tcp -j MARK --set-mark 1'] }), /\$\.markRules:1: .*mangle/],
  ];
  for (const [what, text, message] of bad) {
    t.throws(() => parseForwardConfig(text, 'cfg.json'), { code: message.source.includes('markRules') ? /UVS_(CONFIG|FWMARK_RULE)/ : 'UVS_CONFIG', message }, what);
  }
});
