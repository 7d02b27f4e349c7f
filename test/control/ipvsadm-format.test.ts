// Every ipvsadm -L format byte for byte against ipvsadm.md's worked examples (section 9)
// and format rules (sections 6, 7): default, -n and names, --stats/--rate/--exact,
// --thresholds, --persistent-conn, --tun-info, --nosort, one service, -c (with PE
// columns), --timeout, --daemon, IPv6, the number formatter, and --json.
import t from 'tap';
import { formatListing, largeNumber, listingDataOf, parseArgs, runUvsadm, type ListCommand, type ListingData } from '../../src/control/ipvsadm/index.js';
import { golden, run, stateAfter, WORKED_EXAMPLE, words } from './helpers.js';

const state = stateAfter(WORKED_EXAMPLE);

function listCommand(line: string): ListCommand {
  const p = parseArgs(words(line));
  if (!p.ok || p.command.kind !== 'list') throw new Error(`not a list command: ${line}`);
  return p.command;
}

/** Listing data of the worked example with the counters of ipvsadm.md's --stats / --persistent-conn examples. */
function countedData(): ListingData {
  const data = listingDataOf(state.table);
  const http = data.services.find((s) => s.service.port === 80)!;
  http.stats = { ...http.stats, conns: 1234, inpkts: 56789, outpkts: 123456789, inbytes: 1234567890, outbytes: 98765432109876, cps: 1234, inpps: 56789, outpps: 123456789, inbps: 1234567890, outbps: 98765432109876 };
  const alt = http.servers.find((s) => s.server.port === 8080)!;
  alt.stats = { ...alt.stats, conns: 100, inpkts: 1000, outpkts: 100000000, inbytes: 999999999, outbytes: 100000000000, cps: 100, inpps: 1000, outpps: 100000000, inbps: 999999999, outbps: 100000000000 };
  Object.assign(alt, { persistConns: 2, activeConns: 5, inactConns: 7 });
  return data;
}

const listing = (line: string, data: ListingData = countedData()): string => {
  const r = formatListing(listCommand(line), data);
  if (!r.ok) throw new Error(r.message);
  return r.text;
};

t.test('-L -n: the worked example', async (t) => {
  t.equal(
    run(state, '-L -n').out,
    golden(`IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.0.0.1:80 wlc
  -> 192.168.1.2:80               Masq    1      0          0·········
  -> 192.168.1.3:8080             Masq    3      0          0·········
TCP  10.0.0.1:443 rr persistent 360
  -> 192.168.1.2:443              Route   1      0          0·········
  -> 192.168.1.3:443              Tunnel  0      0          0·········
UDP  10.0.0.2:53 sh (sh-fallback,sh-port)
  -> 192.168.1.4:53               Masq    1      0          0·········
FWM  5 lc persistent 600 mask 255.255.255.0
  -> 192.168.1.5:0                Route   2      0          0·········
`),
  );
  t.equal(run(state, '-l -n').out, run(state, '-L -n').out, '-l is -L');
  t.equal(run(state, '--list --numeric').out, run(state, '-Ln').out, 'long options and bundles');
});

t.test('without -n: ports by service name, same layout', async (t) => {
  const out = run(state, '-L').out.split('\n');
  t.equal(out[3], 'TCP  10.0.0.1:http wlc');
  t.equal(out[5], golden('  -> 192.168.1.3:http-alt         Masq    3      0          0·········'));
  t.equal(out[9], 'UDP  10.0.0.2:domain sh (sh-fallback,sh-port)');
  t.equal(out[12], golden('  -> 192.168.1.5:0                Route   2      0          0·········'), 'port 0 stays 0');
  t.equal(runUvsadm(state, []).stdout, run(state, '-L').out, 'no arguments = -L');
});

t.test('--thresholds', async (t) => {
  t.equal(
    run(state, '-L -n --thresholds').out,
    golden(`IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn·
  -> RemoteAddress:Port
TCP  10.0.0.1:80 wlc
  -> 192.168.1.2:80               0          0          0          0·········
  -> 192.168.1.3:8080             0          0          0          0·········
TCP  10.0.0.1:443 rr persistent 360
  -> 192.168.1.2:443              0          0          0          0·········
  -> 192.168.1.3:443              0          0          0          0·········
UDP  10.0.0.2:53 sh (sh-fallback,sh-port)
  -> 192.168.1.4:53               100        50         0          0·········
FWM  5 lc persistent 600 mask 255.255.255.0
  -> 192.168.1.5:0                0          0          0          0·········
`),
  );
});

t.test('--stats, --exact, --rate', async (t) => {
  t.equal(
    listing('-L -n --stats'),
    `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  10.0.0.1:80                      1234    56789  123456K    1234M   98765G
  -> 192.168.1.2:80                      0        0        0        0        0
  -> 192.168.1.3:8080                  100     1000  100000K  999999K     100G
TCP  10.0.0.1:443                        0        0        0        0        0
  -> 192.168.1.2:443                     0        0        0        0        0
  -> 192.168.1.3:443                     0        0        0        0        0
UDP  10.0.0.2:53                         0        0        0        0        0
  -> 192.168.1.4:53                      0        0        0        0        0
FWM  5                                   0        0        0        0        0
  -> 192.168.1.5:0                       0        0        0        0        0
`,
  );
  t.equal(listing('-L -n --stats --exact').split('\n')[3], 'TCP  10.0.0.1:80                      1234    56789 123456789 1234567890 98765432109876');
  t.equal(listing('-L -n --stats -X').split('\n')[3], listing('-L -n --stats --exact').split('\n')[3], '-X is --exact');
  const rate = listing('-L -n --rate').split('\n');
  t.equal(rate[1], 'Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS');
  t.equal(rate[2], '  -> RemoteAddress:Port');
  t.equal(rate[3], 'TCP  10.0.0.1:80                      1234    56789  123456K    1234M   98765G');
  t.equal(rate[5], '  -> 192.168.1.3:8080                  100     1000 100000000  999999K     100G', 'server CPS/PPS unsuffixed');
  t.equal(listing('-L -n --stats --rate').split('\n')[1], listing('-L -n --stats').split('\n')[1], 'stats wins over rate');
});

t.test('--persistent-conn', async (t) => {
  t.equal(
    listing('-L -n --persistent-conn').split('\n').slice(0, 6).join('\n'),
    golden(`IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn·
  -> RemoteAddress:Port
TCP  10.0.0.1:80 wlc
  -> 192.168.1.2:80               1         0           0          0·········
  -> 192.168.1.3:8080             3         2           5          7·········`),
  );
});

t.test('--tun-info', async (t) => {
  const s = stateAfter(['-A -t 10.0.0.9:80', '-a -t 10.0.0.9:80 -r 10.1.0.1 -i --tun-type gue --tun-port 6080 --tun-csum', '-a -t 10.0.0.9:80 -r 10.1.0.2 -i --tun-type gre', '-a -t 10.0.0.9:80 -r 10.1.0.3 -i', '-a -t 10.0.0.9:80 -r 10.1.0.4:81 -m']);
  t.equal(
    run(s, '-L -n --tun-info').out,
    golden(`IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn
TCP  10.0.0.9:80 wlc
  -> 10.1.0.1:80                  Tunnel  gue:6080:+c   1      0          0·········
  -> 10.1.0.2:80                  Tunnel  gre:-c        1      0          0·········
  -> 10.1.0.3:80                  Tunnel  ipip          1      0          0·········
  -> 10.1.0.4:81                  Masq    n/a           1      0          0·········
`),
  );
});

t.test('sorting, --nosort (servers newest first) and one service', async (t) => {
  const s = stateAfter(['-A -u 10.0.0.1:53 -s rr', '-A -f 2 -s rr', '-A -t 10.0.0.2:80 -s rr', '-A -t 10.0.0.1:80 -s rr', '-a -t 10.0.0.1:80 -r 10.2.0.9:80 -m', '-a -t 10.0.0.1:80 -r 10.2.0.1:80 -m', '-a -t 10.0.0.1:80 -r 10.2.0.5:80 -m']);
  const sorted = run(s, '-L -n').out.split('\n').filter((l) => l !== '' && !l.startsWith('  ->') && !l.startsWith('IP') && !l.startsWith('Prot'));
  t.same(sorted, ['TCP  10.0.0.1:80 rr', 'TCP  10.0.0.2:80 rr', 'UDP  10.0.0.1:53 rr', 'FWM  2 rr'], 'TCP before UDP, fwmark last');
  const servers = (out: string): string[] => out.split('\n').filter((l) => l.startsWith('  -> 10.')).map((l) => l.slice(5, 15));
  t.same(servers(run(s, '-L -n').out), ['10.2.0.1:8', '10.2.0.5:8', '10.2.0.9:8']);
  t.same(servers(run(s, '-L -n --nosort').out), ['10.2.0.5:8', '10.2.0.1:8', '10.2.0.9:8'], 'IPVS list order: newest first');
  t.equal(run(s, '-L -n --sort').out, run(s, '-L -n').out, '--sort is a no-op');
  const one = run(s, '-L -n -t 10.0.0.1:80');
  t.equal(
    one.out,
    golden(`Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.0.0.1:80 rr
  -> 10.2.0.1:80                  Masq    1      0          0·········
  -> 10.2.0.5:80                  Masq    1      0          0·········
  -> 10.2.0.9:80                  Masq    1      0          0·········
`),
    'one service: no header line',
  );
  t.same(run(s, '-L -n -t 10.0.0.3:80'), { out: '', err: 'No such service\n', code: 1, state: s });
  t.equal(run(s, '-L -n -f 2').out.split('\n')[2], 'FWM  2 rr');
});

t.test('service line suffixes: flags, persistence, mask, pe, ops; IPv6', async (t) => {
  const s = stateAfter([
    '-A -t [2001:db8::80]:80 -s rr -p 100 -M 64',
    '-A -f 7 -6 -s rr',
    '-A -u 10.0.0.3:5060 -s mh -b mh-port -p 30 --pe sip -o',
    '-A -t 10.0.0.4:80 -s wlc -b flag-1,flag-3',
    '-A -t 10.0.0.5:0 -s sh -b flag-3 -p',
    '-a -t [2001:db8::80]:80 -r 2001:db8::1:2 -m',
    '-a -t 10.0.0.4:80 -r 2001:db8::7 -i',
  ]);
  const lines = run(s, '-L -n').out.split('\n');
  t.ok(lines.includes('TCP  [2001:db8::80]:80 rr persistent 100 mask 64'), 'IPv6 listing (ipvsadm.md 9)');
  t.ok(lines.includes('FWM  7 IPv6 rr'));
  t.ok(lines.includes('UDP  10.0.0.3:5060 mh (mh-port) persistent 30 pe sip ops'));
  t.ok(lines.includes('TCP  10.0.0.4:80 wlc (flag-1,flag-3)'));
  t.ok(lines.includes('TCP  10.0.0.5:0 sh () persistent 360'), 'flag-3 has no sh name: ipvsadm prints "()"');
  t.ok(lines.includes(golden('  -> [2001:db8::1:2]:80           Masq    1      0          0·········')));
  t.ok(lines.includes(golden('  -> [2001:db8::7]:80             Tunnel  1      0          0·········')), 'IPv6 server of an IPv4 service via tunnel');
  const save = run(s, '-S -n').out.split('\n');
  t.ok(save.includes('-A -t [2001:db8::80]:80 -s rr -p 100 -M 64'));
  t.ok(save.includes('-A -f 7 -6 -s rr'));
  t.ok(save.includes('-A -u 10.0.0.3:5060 -s mh -p 30 --pe sip -o -b mh-port'));
});

t.test('address and label widths: IPv4 cut at 33 / 28, IPv6 not cut', async (t) => {
  const data = listingDataOf(stateAfter(['-A --sctp-service 100.100.100.100:65535 -s rr', '-a --sctp-service 100.100.100.100:65535 -r 200.200.200.200:65535 -m']).table);
  const lines = formatListing(listCommand('-L -n'), data);
  t.ok(lines.ok && lines.text.includes('\nSCTP 100.100.100.100:65535 rr\n'));
  t.ok(lines.ok && lines.text.includes(golden('\n  -> 200.200.200.200:65535        Masq    1      0          0·········\n')));
  const long = stateAfter(['-A -t [2001:db8:1111:2222:3333:4444:5555:6666]:443 -s rr', '-a -t [2001:db8:1111:2222:3333:4444:5555:6666]:443 -r [2001:db8:1111:2222:3333:4444:5555:7777]:8443 -m']);
  const out = run(long, '-L -n --stats').out.split('\n');
  t.equal(out[3], 'TCP  [2001:db8:1111:2222:3333:4444:5555:6666]:443        0        0        0        0        0');
  t.equal(out[4], '  -> [2001:db8:1111:2222:3333:4444:5555:7777]:8443        0        0        0        0        0');
});

t.test('number formatter (print_largenum)', async (t) => {
  t.equal(largeNumber(56789, false), '    56789');
  t.equal(largeNumber(99_999_999, false), ' 99999999');
  t.equal(largeNumber(123456789, false), '  123456K', 'ipvsadm.md 6.8 shows one space less than its own section 9 golden; %8lluK is 9 columns');
  t.equal(largeNumber(1234567890, false), '    1234M');
  t.equal(largeNumber(98765432109876, false), '   98765G');
  t.equal(largeNumber(100_000_000_000_000, false), '     100T');
  t.equal(largeNumber(2n ** 64n - 1n, false), '18446744T');
  t.equal(largeNumber(123456789, true), ' 123456789');
  t.equal(largeNumber(12345678, true), ' 12345678');
  t.equal(largeNumber(0, true), '        0');
});

t.test('-c: connection entries (with PE columns under --persistent-conn)', async (t) => {
  const data = listingDataOf(state.table, {
    connections: [
      { protocol: 'TCP', client: '192.168.10.100:54321', virtual: '10.0.0.1:80', real: '192.168.1.2:80', state: 'ESTABLISHED', expiresInMs: 897_400, template: false },
      { protocol: 'TCP', client: '192.168.10.101:50000', virtual: '10.0.0.1:80', real: '192.168.1.3:8080', state: 'FIN_WAIT', expiresInMs: 65_000, template: false },
      { protocol: 'UDP', client: '192.168.10.102:35555', virtual: '10.0.0.2:53', real: '192.168.1.4:53', state: 'UDP', expiresInMs: 299_999, template: false },
      { protocol: 'TCP', client: '192.168.10.100:0', virtual: '10.0.0.1:443', real: '192.168.1.2:443', state: 'NONE', expiresInMs: 359_000, template: true },
      { protocol: 'IP', client: '192.168.10.0:0', virtual: 'FWM 5', real: '192.168.1.5:0', state: 'ASSURED', expiresInMs: 599_000, template: true },
    ],
  });
  t.equal(
    listing('-L -n -c', data),
    `IPVS connection entries
pro expire state       source             virtual            destination
TCP 14:57  ESTABLISHED 192.168.10.100:54321 10.0.0.1:80        192.168.1.2:80
TCP 01:05  FIN_WAIT    192.168.10.101:50000 10.0.0.1:80        192.168.1.3:8080
UDP 04:59  UDP         192.168.10.102:35555 10.0.0.2:53        192.168.1.4:53
TCP 05:59  NONE        192.168.10.100:0   10.0.0.1:443       192.168.1.2:443
IP  09:59  ASSURED     192.168.10.0:0     0.0.0.5:0          192.168.1.5:0
`,
  );
  t.equal(listing('-L -c', data).split('\n')[2], 'TCP 14:57  ESTABLISHED 192.168.10.100:54321 10.0.0.1:http      192.168.1.2:http', 'names without -n');
  const pe = listingDataOf(state.table, {
    connections: [
      { protocol: 'UDP', client: '10.9.0.1:0', virtual: '10.0.0.2:5060', real: '192.168.1.4:5060', state: 'NONE', expiresInMs: 900_000, template: true, peName: 'sip', peData: 'abc@host' },
      { protocol: 'TCP', client: '10.9.0.2:4000', virtual: '10.0.0.1:80', real: '192.168.1.2:80', state: 'SYN_RECV', expiresInMs: 59_000, template: false },
    ],
  });
  t.equal(
    listing('-L -n -c --persistent-conn', pe),
    `IPVS connection entries
pro expire state       source             virtual            destination        pe name          pe_data
UDP 15:00  NONE        10.9.0.1:0         10.0.0.2:5060      192.168.1.4:5060 sip                abc@host
TCP 00:59  SYN_RECV    10.9.0.2:4000      10.0.0.1:80        192.168.1.2:80
`,
  );
  t.equal(listing('-L -n -c', listingDataOf(state.table)), 'IPVS connection entries\npro expire state       source             virtual            destination\n', 'empty table');
});

t.test('--timeout and --daemon', async (t) => {
  t.equal(run(state, '-L --timeout').out, 'Timeout (tcp tcpfin udp): 900 120 300\n');
  const set = stateAfter(['--set 60 0 5'], state);
  t.equal(run(set, '-L -n --timeout').out, 'Timeout (tcp tcpfin udp): 60 120 5\n', '0 keeps the value');
  t.equal(run(state, '-L --daemon').out, '', 'no daemon: nothing');
  const d = stateAfter(['--start-daemon backup --syncid 7 --mcast-interface eth1 --mcast-group ff02::81 --mcast-port 9000 --mcast-ttl 3', '--start-daemon master'], state);
  t.equal(
    run(d, '-L --daemon').out,
    'master sync daemon (mcast=eth0, syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\nbackup sync daemon (mcast=eth1, syncid=7, maxlen=1452, group=ff02::81, port=9000, ttl=3)\n',
  );
});

t.test('--json carries the same data', async (t) => {
  const all = JSON.parse(listing('-L -n --json')) as { version: string; size: number; services: { address: string; port: number; scheduler: string; stats: { outbytes: number }; servers: { port: number; persistConns: number }[] }[] };
  t.equal(all.version, '1.2.1');
  t.equal(all.size, 4096);
  t.same(all.services.map((s) => `${s.address}:${s.port} ${s.scheduler}`), ['10.0.0.1:80 wlc', '10.0.0.1:443 rr', '10.0.0.2:53 sh', ':0 lc']);
  t.equal(all.services[0]!.stats.outbytes, 98765432109876);
  t.same(all.services[0]!.servers.map((s) => [s.port, s.persistConns]), [[80, 0], [8080, 2]]);
  t.same(JSON.parse(run(state, '-L --timeout --json').out), { timeouts: { tcp: 900, tcpfin: 120, udp: 300 } });
  t.same(JSON.parse(run(state, '-L -c --json').out), { connections: [] });
  t.same(JSON.parse(run(state, '-L --daemon --json').out), { daemons: [] });
  t.equal((JSON.parse(run(state, '-L --json -t 10.0.0.1:443').out) as { services: unknown[] }).services.length, 1);
  const big = listingDataOf(state.table);
  big.services[0]!.stats.conns = 2n ** 60n;
  t.equal((JSON.parse(formatListing(listCommand('-L --json'), big).ok ? (formatListing(listCommand('-L --json'), big) as { text: string }).text : '') as { services: { stats: { conns: unknown } }[] }).services[0]!.stats.conns, String(2n ** 60n));
});
