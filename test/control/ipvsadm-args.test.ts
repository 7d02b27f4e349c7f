// ipvsadm's command line: every message and exit code of ipvsadm.md 1-5 (option errors,
// the legality table and its visiting order, host:port, numbers, -6, zero port, ops,
// sched flags, tunnels, list conflicts), popt's scanning rules, and what commands parse to.
import t from 'tap';
import { parseArgs, parseHostPort, builtinNames, usageText, VERSION_LINE, type Command, type ParseResult } from '../../src/control/ipvsadm/index.js';
import { emptyTable } from '../../src/config/model.js';
import { run, words } from './helpers.js';

const parse = (line: string, readingStdin = false): ParseResult => parseArgs(words(line), { readingStdin });
const command = (line: string): Command => {
  const p = parse(line);
  if (!p.ok) throw new Error(`${line}: ${p.message}`);
  return p.command;
};
/** [message, exit code] of a failing line. */
const failure = (line: string, readingStdin = false): [string, number] => {
  const p = parse(line, readingStdin);
  return p.ok ? ['(parsed)', 0] : [p.message, p.exitCode];
};
const TRY = "Try `ipvsadm -h' or 'ipvsadm --help' for more information.";

t.test('invocation: the first option must be a command', async (t) => {
  t.same(failure('-t 10.0.0.1:80 -A'), [TRY, 255], 'an option first');
  t.same(failure('foo'), [TRY, 255], 'a bare word');
  t.same(failure('-Q'), [TRY, 255], 'an unknown option first');
  t.same(failure('--start-daemon'), [TRY, 255], 'a command missing its argument');
  t.same(failure('-- -A'), [TRY, 255], 'after --, options are arguments');
  t.same(parseArgs(['-6'], { prog: '/sbin/uvsadm' }), { ok: false, message: "Try `/sbin/uvsadm -h' or '/sbin/uvsadm --help' for more information.", exitCode: 255, stopsRestore: true }, 'program name as invoked');
  t.same(failure('foo -C'), ['unexpected argument foo', 2], 'a word before the command is a leftover argument');
  t.same(command(''), { kind: 'list', view: 'all', format: { numeric: false, stats: false, rate: false, thresholds: false, persistentConn: false, tunInfo: false, exact: false, nosort: false, json: false, health: false } }, 'no arguments: list');
});

t.test('-h, -v', async (t) => {
  t.same(command('-h'), { kind: 'help' });
  t.same(command('--help -Q'), { kind: 'help' }, 'exits before reading further');
  t.same(command('-v'), { kind: 'version' });
  t.equal(VERSION_LINE, 'ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n');
  const usage = usageText('ipvsadm');
  t.ok(usage.startsWith(`${VERSION_LINE}Usage:\n  ipvsadm -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags]\n`));
  t.ok(usage.includes('  ipvsadm -h\n\nCommands:\nEither long or short options are allowed.\n'));
  t.ok(usage.includes('  --scheduler    -s scheduler         one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh,\n                                      the default scheduler is wlc.\n'));
  t.ok(usage.endsWith('  --mcast-ttl ttl                     Multicast TTL (default=1)\n'));
  const state = { table: emptyTable(), daemons: [] };
  t.same(run(state, '-h'), { out: usage, err: '', code: 0, state });
  t.same(run(state, '-v'), { out: VERSION_LINE, err: '', code: 0, state });
});

t.test('popt scanning', async (t) => {
  t.same(command('-Ln'), command('-L -n'), 'bundled short options');
  t.same(command('-Lnc'), command('-L -n -c'));
  t.same(command('-At10.0.0.1:80'), command('-A -t 10.0.0.1:80'), 'value in the same word');
  t.same(command('-At=10.0.0.1:80'), command('-A -t 10.0.0.1:80'), '-t=value');
  t.same(command('--add-service --tcp-service=10.0.0.1:80 --scheduler rr'), command('-A -t 10.0.0.1:80 -s rr'), '--opt=value and --opt value');
  t.same(command('-L --numeric=yes'), command('-L -n'), '=value ignored on an option that takes none');
  t.same(failure('-L -Q'), ['-Q: unknown option', 255], 'popt error after the command');
  t.same(failure('-L --nope'), ['--nope: unknown option', 255]);
  t.same(failure('-Ln=Q'), ['-Ln=Q: unknown option', 255], "'=' inside a bundle is skipped, Q is unknown");
  t.same(failure('-Ln=x'), ['-Ln=x: missing argument', 255], 'x is -x, which wants a value');
  t.same(failure('-A -t'), ['-t: missing argument', 255]);
  t.same(failure('-A -t 10.0.0.1:80 -s'), ['-s: missing argument', 255]);
  const stopped = parse('-L -Q');
  t.equal(!stopped.ok && stopped.stopsRestore, false, 'popt errors only fail their -R line');
  t.same(command('-A -t 10.0.0.1:80 -s -x'), command('-A -t 10.0.0.1:80 -s -x'), 'a required value may start with -');
  const sched = command('-A -t 10.0.0.1:80 -s -x');
  t.equal(sched.kind === 'add-service' && sched.options.scheduler, '-x');
  t.same(failure('-A -- -t 10.0.0.1:80'), ['unexpected argument -t', 2], 'everything after -- is an argument');
  t.same(failure('-A -t 10.0.0.1:80 -'), ['unexpected argument -', 2], "'-' alone is an argument");
  const bang = command('-A -t 10.0.0.1:80 -s !#:+ rr');
  t.equal(bang.kind === 'add-service' && bang.options.scheduler, 'rr', "popt's !#:+ takes the next word");
});

t.test('-p takes an optional value', async (t) => {
  const persistent = (line: string): number => {
    const c = command(line);
    return c.kind === 'add-service' ? c.options.persistent : -1;
  };
  t.equal(persistent('-A -t 10.0.0.1:80 -p 600'), 600);
  t.equal(persistent('-A -t 10.0.0.1:80 -p600'), 600);
  t.equal(persistent('-A -t 10.0.0.1:80 --persistent=600'), 600);
  t.equal(persistent('-A -t 10.0.0.1:80 --persistent 600'), 600);
  t.equal(persistent('-A -t 10.0.0.1:80 -p'), 360, 'default 360 (man page says 300)');
  t.equal(persistent('-A -t 10.0.0.1:80 -p -s rr'), 360, 'next word starts with -: not taken');
  t.equal(persistent('-A -t 10.0.0.1:80 -s rr'), 0);
  t.same(failure('-A -t 10.0.0.1:80 -p 0'), ["invalid timeout value `0' specified", 2]);
  t.same(failure('-A -t 10.0.0.1:80 -p 2678401'), ["invalid timeout value `2678401' specified", 2]);
  t.equal(persistent('-A -t 10.0.0.1:80 -p 2678400'), 2678400);
  t.same(failure('-A -t 10.0.0.1:80 -p abc'), ["invalid timeout value `abc' specified", 2]);
});

t.test('second commands, repeated options, leftovers', async (t) => {
  t.same(failure('-A -t 10.0.0.1:80 -a'), ["invalid option `-a'", 2]);
  t.same(failure('-Lna'), ["invalid option `-Lna'", 2], 'the whole word is named');
  t.same(failure('-L -h'), ["invalid option `-h'", 2]);
  t.same(failure('-L --set'), ["invalid option `--set'", 2]);
  t.same(failure('-L --start-daemon master'), ["invalid option `master'", 2], 'popt names the last word read');
  t.same(failure('-A -t 10.0.0.1:80 -s rr -s wlc'), ["multiple 'scheduler' options specified", 2]);
  t.same(failure('-A -t 10.0.0.1:80 -u 10.0.0.1:80'), ["multiple 'service-address' options specified", 2]);
  t.same(failure('-a -t 10.0.0.1:80 -r 10.0.0.2 -g -m'), ["multiple 'forwarding-method' options specified", 2]);
  t.same(failure('-a -t 10.0.0.1:80 -r 10.0.0.2 -w 1 -w x'), ["multiple 'weight' options specified", 2], 'counted before the value is read');
  t.same(failure('-L -n -n'), ["multiple 'numeric' options specified", 2]);
  t.ok(parse('-L --sort --sort').ok, '--sort is not counted');
  t.same(failure('-L foo'), ['unexpected argument foo', 2]);
  t.same(failure('-L foo -Q'), ['-Q: unknown option', 255], 'option errors come before leftovers');
  t.same(failure('-C bar baz'), ['unexpected argument bar', 2]);
});

t.test('legality table: messages and visiting order', async (t) => {
  t.same(failure('-a -t 10.0.0.1:80'), ["You need to supply the 'real-server' option for the 'add-server' command", 2]);
  t.same(failure('-A'), ["You need to supply the 'service-address' option for the 'add-service' command", 2]);
  t.same(failure('-A -t 10.0.0.1:80 -w 2'), ["Illegal 'weight' option with the 'add-service' command", 2]);
  t.same(failure('-L -c -t 10.0.0.1:80'), ["The option 'service-address' conflicts with the 'connection' option in the 'list' command", 2]);
  t.same(failure('-L --timeout -c'), ["The option 'timeout' conflicts with the 'connection' option in the 'list' command", 2]);
  t.same(failure('-L --daemon -t 10.0.0.1:80'), ["The option 'daemon' conflicts with the 'service-address' option in the 'list' command", 2]);
  t.same(failure('-A -r 10.0.0.2'), ["You need to supply the 'service-address' option for the 'add-service' command", 2], 'service-address is visited before real-server');
  t.same(failure('-A -t 10.0.0.1:80 -n -r 10.0.0.2'), ["Illegal 'numeric' option with the 'add-service' command", 2], 'numeric first');
  t.same(failure('-a -t 10.0.0.1:80 -s rr'), ["Illegal 'scheduler' option with the 'add-server' command", 2], 'scheduler before the missing real-server');
  t.same(failure('-d -t 10.0.0.1:80 -r 10.0.0.2 -m'), ["Illegal 'forwarding-method' option with the 'delete-server' command", 2]);
  t.same(failure('-D -t 10.0.0.1:80 -s rr'), ["Illegal 'scheduler' option with the 'delete-service' command", 2]);
  t.same(failure('-C -t 10.0.0.1:80'), ["Illegal 'service-address' option with the 'flush' command", 2]);
  t.same(failure('-R -n'), ["Illegal 'numeric' option with the 'restore' command", 2]);
  t.same(failure('-S -c'), ["Illegal 'connection' option with the 'save' command", 2]);
  t.same(failure('-Z -n'), ["Illegal 'numeric' option with the 'zero' command", 2]);
  t.same(failure('--set 1 2 3 -n'), ["Illegal 'numeric' option with the 'set' command", 2]);
  t.same(failure('-L -s rr'), ["Illegal 'scheduler' option with the 'list' command", 2]);
  t.same(failure('-L --syncid 3 --mcast-interface eth0'), ["Illegal 'mcast-interface' option with the 'list' command", 2]);
  t.ok(parse('-L --syncid 3').ok, '--syncid accepted and ignored with -L');
  t.same(failure('--stop-daemon master --mcast-interface eth1'), ["Illegal 'mcast-interface' option with the 'stop-daemon' command", 2]);
  t.same(failure('--start-daemon master -t 10.0.0.1:80'), ["Illegal 'service-address' option with the 'start-daemon' command", 2]);
  t.same(failure('-A -t 10.0.0.1:80 --tun-type gue'), ["Illegal 'tun-type' option with the 'add-service' command", 2]);
  t.same(failure('-A -t 10.0.0.1:80 --json'), ["Illegal 'json' option with the 'add-service' command", 2], 'uvs --json is for -L only');
});

t.test('list conflicts', async (t) => {
  t.same(failure('-L -c --stats'), ['options conflicts in the list command', 2]);
  t.same(failure('-L --timeout --rate'), ['options conflicts in the list command', 2]);
  t.same(failure('-L --daemon --thresholds'), ['options conflicts in the list command', 2]);
  t.same(failure('-L --timeout --persistent-conn'), ['options conflicts in the list command', 2]);
  t.ok(parse('-L -c --persistent-conn').ok, '-c with --persistent-conn is the PE listing');
  t.ok(parse('-L -n --stats --rate --thresholds --persistent-conn --tun-info --exact --nosort').ok);
});

t.test('host[:port]', async (t) => {
  const svc = (line: string): unknown => {
    const c = command(line);
    return 'service' in c ? c.service : undefined;
  };
  t.same(svc('-D -t 10.0.0.1:80'), { protocol: 'tcp', address: '10.0.0.1', port: 80, fwmark: 0, family: 4 });
  t.same(svc('-D -t 10.0.0.1:http'), { protocol: 'tcp', address: '10.0.0.1', port: 80, fwmark: 0, family: 4 }, 'service name for the protocol');
  t.same(failure('-D -u 10.0.0.1:http'), ['illegal virtual server address[:port] specified', 2], 'http is a TCP name only');
  t.same(svc('-D -t 10.0.0.1:domain'), { protocol: 'tcp', address: '10.0.0.1', port: 53, fwmark: 0, family: 4 });
  t.same(svc('-D --sctp-service [2001:DB8::80]:443'), { protocol: 'sctp', address: '2001:db8::80', port: 443, fwmark: 0, family: 6 });
  t.same(svc('-D -t 2001:db8::80'), { protocol: 'tcp', address: '2001:db8::80', port: 0, fwmark: 0, family: 6 }, 'bare IPv6, no port');
  t.same(svc('-D -t 2001:db8::80:443'), { protocol: 'tcp', address: '2001:db8::80:443', port: 0, fwmark: 0, family: 6 }, 'a bare IPv6 swallows what looks like a port');
  t.same(svc('-D -t [::ffff:10.0.0.1]:80'), { protocol: 'tcp', address: '::ffff:a00:1', port: 80, fwmark: 0, family: 6 }, 'model text is ipaddr.js canonical');
  t.same(svc('-Z -t 10.1:80'), { protocol: 'tcp', address: '10.0.0.1', port: 80, fwmark: 0, family: 4 }, 'inet_aton forms');
  t.same(svc('-Z -t 0x0a000001:80'), { protocol: 'tcp', address: '10.0.0.1', port: 80, fwmark: 0, family: 4 });
  t.same(svc('-Z -t 167772161:80'), { protocol: 'tcp', address: '10.0.0.1', port: 80, fwmark: 0, family: 4 }, 'a number with a port is an address');
  t.same(svc('-Z -t [10.0.0.1]:80'), { protocol: 'tcp', address: '10.0.0.1', port: 0, fwmark: 0, family: 4 }, 'bracketed IPv4: the port is lost, as in ipvsadm');
  t.same(svc('-Z -t 10.0.0.1'), { protocol: 'tcp', address: '10.0.0.1', port: 0, fwmark: 0, family: 4 });
  t.same(svc('-Z -f 4294967295'), { protocol: 'tcp', address: '', port: 0, fwmark: 4294967295, family: 4 });
  t.same(svc('-Z -f 1 -6'), { protocol: 'tcp', address: '', port: 0, fwmark: 1, family: 6 });
  t.same(command('-Z -t 0.0.0.0:0'), { kind: 'zero' }, 'libipvs zeroes everything for the any address and port 0');
  for (const bad of ['80', '', '10.0.0.1:65536', '10.0.0.1:-1', '10.0.0.1:nosuch', 'www.example.com:80', '[2001:db8::1]', '[2001:db8::1]80', '[::1', '10.0.0.256:80', '1.2.3.4.5:80', '08.1.1.1:80', '[::1]:'])
    t.same(parseArgs(['-D', '-t', bad]), { ok: false, message: 'illegal virtual server address[:port] specified', exitCode: 2, stopsRestore: true, argument: `-t ${bad}` }, `-t '${bad}'`);
  t.same(failure('-d -t 10.0.0.1:80 -r 80'), ['illegal real server address[:port] specified', 2]);
  t.same(failure('-d -t 10.0.0.1:80 -r 10.0.0.2:x'), ['illegal real server address[:port] specified', 2]);
  t.same(failure('-d -r 10.0.0.2:http -t 10.0.0.1:80'), ['illegal real server address[:port] specified', 2], 'service names need the protocol: -r before -t has none');
  const names = { ...builtinNames, hostAddress: (n: string) => (n === 'localhost' ? '127.0.0.1' : undefined) };
  t.same(parseHostPort('localhost:80', 'tcp', names), { family: 4, bytes: [127, 0, 0, 1], port: 80 }, 'a resolver may be supplied');
  t.equal(parseHostPort('localhost:80', 'tcp', builtinNames), undefined, 'none by default: no DNS');
});

t.test('real server port: given, the service port, forced for -g/-i', async (t) => {
  const server = (line: string): unknown => {
    const c = command(line);
    return 'server' in c ? [c.server.address, c.server.port] : undefined;
  };
  t.same(server('-a -t 10.0.0.1:80 -r 10.0.0.5:8080 -m'), ['10.0.0.5', 8080]);
  t.same(server('-a -t 10.0.0.1:80 -r 10.0.0.5:8080 -g'), ['10.0.0.5', 80], 'DR: forced to the service port');
  t.same(server('-a -t 10.0.0.1:80 -r 10.0.0.5:8080'), ['10.0.0.5', 80], 'default method is DR');
  t.same(server('-e -t 10.0.0.1:80 -r 10.0.0.5:8080 -i'), ['10.0.0.5', 80], 'tunnel: forced too');
  t.same(server('-a -t 10.0.0.1:80 -r 10.0.0.5 -m'), ['10.0.0.5', 80], 'no port: the service port');
  t.same(server('-a -r 10.0.0.5 -t 10.0.0.1:80 -m'), ['10.0.0.5', 0], '-r before -t: the service port was still 0');
  t.same(server('-a -f 5 -r 10.0.0.5:8080 -g'), ['10.0.0.5', 8080], 'fwmark: not forced');
  t.same(server('-a -f 5 -r 10.0.0.5'), ['10.0.0.5', 0]);
  t.same(server('-d -t 10.0.0.1:80 -r 10.0.0.5:8080'), ['10.0.0.5', 8080], '-d: not forced');
  t.same(server('-a -t [2001:db8::1]:80 -r 2001:db8::5 -m'), ['2001:db8::5', 80]);
  t.same(failure('-a -t 10.0.0.1:80 -r 2001:db8::5 -m'), ['Different address family is allowed only for tunneling servers', 2]);
  t.same(failure('-a -f 1 -6 -r 10.0.0.5'), ['Different address family is allowed only for tunneling servers', 2]);
  t.ok(parse('-a -t 10.0.0.1:80 -r 2001:db8::5 -i').ok);
});

t.test('numbers: weight, thresholds, fwmark, timeouts, syncid, daemon options', async (t) => {
  const spec = (line: string): unknown => {
    const c = command(line);
    return 'server' in c && 'weight' in c.server ? [c.server.weight, c.server.upper, c.server.lower] : undefined;
  };
  t.same(spec('-a -t 10.0.0.1:80 -r 10.0.0.2'), [1, 0, 0], 'defaults');
  t.same(spec('-a -t 10.0.0.1:80 -r 10.0.0.2 -w 0 -x 2147483647 -y 7'), [0, 2147483647, 7]);
  t.same(spec('-a -t 10.0.0.1:80 -r 10.0.0.2 -w +65535'), [65535, 0, 0], 'strtol accepts a sign');
  for (const w of ['65536', '-1', 'abc', '1x', '', '99999999999999999999999'])
    t.same(failure(`-a -t 10.0.0.1:80 -r 10.0.0.2 -w ${w === '' ? '=' : w}`.replace('-w =', '--weight=')), ['illegal weight specified', 2], `-w '${w}'`);
  t.same(failure('-a -t 10.0.0.1:80 -r 10.0.0.2 -x 2147483648'), ['illegal u_threshold specified', 2]);
  t.same(failure('-a -t 10.0.0.1:80 -r 10.0.0.2 -y -5'), ['illegal l_threshold specified', 2]);
  for (const f of ['0', '-3', '4294967296', 'x', '5x'])
    t.same(failure(`-D -f ${f}`), [`invalid fwmark value \`${f}' specified`, 2]);
  t.same(command('--set 900 0 2678400'), { kind: 'set', timeouts: { tcp: 900, tcpfin: 0, udp: 2678400 } });
  t.same(failure('--set 900 120'), ['--set option requires 3 timeout values', 2]);
  t.same(failure('--set 900 120 2678401'), ["invalid timeout value `2678401' specified", 2]);
  t.same(failure('--set x 120 300'), ["invalid timeout value `x' specified", 2]);
  t.same(failure('--set 1 2 3 4'), ['unexpected argument 4', 2]);
  t.same(failure('--start-daemon master --syncid 256'), ['illegal syncid specified', 2]);
  t.same(failure('--start-daemon master --mcast-port 0'), ['illegal mcast-port specified', 2]);
  t.same(failure('--start-daemon master --mcast-ttl 256'), ['illegal mcast-ttl specified', 2]);
  t.same(failure('--start-daemon master --sync-maxlen 65508'), ['illegal sync-maxlen specified', 2]);
  t.same(failure('--start-daemon master --mcast-group 10.0.0.1'), ["invalid IPv4 mcast-group `10.0.0.1'", 2]);
  t.same(failure('--start-daemon master --mcast-group ff02::x'), ["invalid IPv6 mcast-group `ff02::x'", 2]);
  t.same(failure('--start-daemon master --mcast-group 2001:db8::1'), ["invalid IPv6 mcast-group `2001:db8::1'", 2]);
  t.same(failure('--start-daemon primary'), ['illegal start-daemon parameter specified', 2]);
  t.same(failure('--stop-daemon primary'), ['illegal start_daemon specified', 2], "ipvsadm's own wording for --stop-daemon");
  t.same(command('--start-daemon backup'), { kind: 'start-daemon', daemon: { state: 'backup', mcastInterface: 'eth0', syncid: 0, maxlen: 0, group: '', port: 0, ttl: 0 } }, 'default interface eth0');
  t.same(command('--stop-daemon master --syncid 4'), { kind: 'stop-daemon', state: 'master', syncid: 4 });
});

t.test('service options: -6, -M, zero port, ops, -b, -s', async (t) => {
  t.same(failure('-A -6 -f 1'), ['-6 used before -f\n', 2], 'printed with an extra newline, as ipvsadm does');
  t.same(failure('-A -t 10.0.0.1:80 -6'), ['-6 used before -f\n', 2]);
  const opts = (line: string): unknown => {
    const c = command(line);
    return c.kind === 'add-service' || c.kind === 'edit-service' ? c.options : undefined;
  };
  t.same(opts('-A -t 10.0.0.1:80'), { scheduler: 'wlc', persistent: 0, netmask: '255.255.255.255', schedFlags: [], onePacket: false, pe: '' }, 'defaults');
  t.same(opts('-E -f 1 -6'), { scheduler: 'wlc', persistent: 0, netmask: '128', schedFlags: [], onePacket: false, pe: '' });
  t.same(opts('-A -t 10.0.0.1:80 -p -M 255.255.255.0'), { scheduler: 'wlc', persistent: 360, netmask: '255.255.255.0', schedFlags: [], onePacket: false, pe: '' });
  t.same(opts('-A -t 10.0.0.1:80 -p -M 0xffff0000'), { scheduler: 'wlc', persistent: 360, netmask: '255.255.0.0', schedFlags: [], onePacket: false, pe: '' }, 'inet_aton mask forms');
  t.same(failure('-A -t 10.0.0.1:80 -p -M 255.255.255.256'), ['illegal virtual server persistent mask specified', 2]);
  t.same(failure('-A -t 10.0.0.1:80 -p -M mask'), ['illegal virtual server persistent mask specified', 2]);
  t.equal((opts('-A -t [2001:db8::1]:80 -p -M 64') as { netmask: string }).netmask, '64');
  t.same(failure('-A -t [2001:db8::1]:80 -p -M 129'), ['illegal ipv6 netmask specified', 2]);
  t.same(failure('-A -t [2001:db8::1]:80 -p -M 0'), ['illegal ipv6 netmask specified', 2]);
  t.same(failure('-A -t [2001:db8::1]:80 -p -M 255.255.255.0'), ['illegal ipv6 netmask specified', 2], 'atoi reads 255');
  t.equal((opts('-A -p -M 64 -t [2001:db8::1]:80') as { netmask: string }).netmask, '128', '-M before an IPv6 service is read as IPv4 and then reset');
  t.equal((opts('-A -f 3 -6 -p -M 48') as { netmask: string }).netmask, '48');
  t.same(failure('-A -t 10.0.0.1 -s rr'), ['Zero port specified for non-persistent service', 2]);
  t.same(failure('-E -t 10.0.0.1:0'), ['Zero port specified for non-persistent service', 2]);
  t.ok(parse('-A -t 10.0.0.1 -p').ok, 'persistent port-0 service');
  t.ok(parse('-A -f 1').ok, 'fwmark services have no port');
  t.same(failure('-A -t 10.0.0.1:80 -o'), ['One-Packet Scheduling is only for UDP virtual services', 2]);
  t.same(failure('-A --sctp-service 10.0.0.1:80 -o'), ['One-Packet Scheduling is only for UDP virtual services', 2]);
  t.equal((opts('-A -u 10.0.0.1:53 -o') as { onePacket: boolean }).onePacket, true);
  t.equal((opts('-A -f 9 -o') as { onePacket: boolean }).onePacket, true);
  t.same(failure('-A -t 10.0.0.1:80 -b foo'), ["invalid scheduler flag `foo'", 2]);
  t.same(failure('-A -t 10.0.0.1:80 -b sh-port'), ["incompatible scheduler flag `sh-port'", 2], 'checked against wlc when no -s');
  t.same(failure('-A -t 10.0.0.1:80 -s rr -b flag-1,mh-port'), ["incompatible scheduler flag `mh-port'", 2]);
  t.same(failure('-D -t 10.0.0.1:80 -b foo'), ["invalid scheduler flag `foo'", 2], 'flags are parsed before the legality check');
  t.same(failure('-A -t 10.0.0.1:80 -b ,,'), ["invalid scheduler flag `'", 2], 'ipvsadm crashes here; uvsadm reports it');
  t.same((opts('-A -t 10.0.0.1:80 -s sh -b sh-port,,flag-1') as { schedFlags: string[] }).schedFlags, ['sh-fallback', 'sh-port'], 'empty fields skipped; bits named for the scheduler');
  t.same((opts('-A -t 10.0.0.1:80 -s mh -b mh-fallback,flag-3') as { schedFlags: string[] }).schedFlags, ['mh-fallback', 'flag-3']);
  t.same((opts('-A -t 10.0.0.1:80 -b flag-2') as { schedFlags: string[] }).schedFlags, ['flag-2']);
  t.same((opts('-A -t 10.0.0.1:80 -b=') as { schedFlags: string[] }).schedFlags, [], 'an empty list sets nothing');
  t.equal((opts('-A -t 10.0.0.1:80 -s abcdefghijklmnopqrstu') as { scheduler: string }).scheduler, 'abcdefghijklmno', 'cut to 15 characters');
  t.equal((opts('-A -t 10.0.0.1:80 --scheduler=') as { scheduler: string }).scheduler, 'wlc', 'empty name: the default');
});

t.test('tunnel options', async (t) => {
  const tun = (line: string): unknown => {
    const c = command(line);
    return 'server' in c && 'method' in c.server ? [c.server.method, c.server.tunType, c.server.tunPort, c.server.tunCsum] : undefined;
  };
  t.same(tun('-a -t 10.0.0.1:80 -r 10.0.0.2 -i'), ['tun', 'ipip', undefined, undefined]);
  t.same(tun('-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gue --tun-port 6080'), ['tun', 'gue', 6080, 'nocsum'], 'default nocsum');
  t.same(tun('-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gue --tun-port 6080 --tun-remcsum'), ['tun', 'gue', 6080, 'remcsum']);
  t.same(tun('-e -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gre --tun-csum'), ['tun', 'gre', undefined, 'csum']);
  t.same(tun('-a -t 10.0.0.1:80 -r 10.0.0.2 -m'), ['nat', undefined, undefined, undefined]);
  t.same(failure('-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type foo'), ['illegal tunnel type specified', 2]);
  t.same(failure('-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-port 0'), ['illegal tunnel port specified', 2]);
  t.same(failure('-a -t 10.0.0.1:80 -r 10.0.0.2 -m --tun-type gue'), ['Tunnel options conflict with forward method', 2]);
  t.same(failure('-a -t 10.0.0.1:80 -r 10.0.0.2 --tun-csum'), ['Tunnel options conflict with forward method', 2], 'default DR');
  t.same(failure('-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gue'), ["You need to supply the 'tun-port' option for the 'gue' tunnel type", 2]);
  t.same(failure('-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-port 5000'), ["Illegal 'tun-port' option with the 'ipip' tunnel type", 2]);
  t.same(failure('-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-nocsum'), ["Illegal 'tun-nocsum' option with the 'ipip' tunnel type", 2]);
  t.same(failure('-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gre --tun-remcsum'), ["Illegal 'tun-remcsum' option with the 'gre' tunnel type", 2]);
  t.same(failure('-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gue --tun-port 1 --tun-csum --tun-remcsum'), ["The option 'tun-remcsum' conflicts with the 'tun-csum' option in the 'gue' tunnel type", 2]);
  t.same(failure('-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gue --tun-csum --tun-csum'), ["multiple 'tun-csum' options specified", 2]);
});

t.test('-R: refused inside its own input', async (t) => {
  t.same(command('-R'), { kind: 'restore' });
  t.same(failure('-R', true), [TRY, 255]);
  t.same(failure('-R -n', true), ["Illegal 'numeric' option with the 'restore' command", 2], 'the legality check comes first');
});

t.test('what commands parse to', async (t) => {
  t.same(command('-E -t 10.0.0.1:80 -s rr -p 60 --pe sip'), {
    kind: 'edit-service',
    service: { protocol: 'tcp', address: '10.0.0.1', port: 80, fwmark: 0, family: 4 },
    options: { scheduler: 'rr', persistent: 60, netmask: '255.255.255.255', schedFlags: [], onePacket: false, pe: 'sip' },
  });
  t.same(command('-e -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 5 -x 10 -y 2'), {
    kind: 'edit-server',
    service: { protocol: 'tcp', address: '10.0.0.1', port: 80, fwmark: 0, family: 4 },
    server: { address: '10.0.0.2', port: 8080, family: 4, method: 'nat', weight: 5, upper: 10, lower: 2 },
  });
  t.same(command('-d -f 3 -r 10.0.0.2'), { kind: 'delete-server', service: { protocol: 'tcp', address: '', port: 0, fwmark: 3, family: 4 }, server: { address: '10.0.0.2', port: 0, family: 4 } });
  t.same(command('-C'), { kind: 'flush' });
  t.same(command('-S'), { kind: 'save', numeric: false });
  t.same(command('-Sn'), { kind: 'save', numeric: true });
  t.same(command('-Z'), { kind: 'zero' });
  const list = command('-L -n --stats --exact -u 10.0.0.1:53 --json');
  t.same(list, { kind: 'list', view: 'service', service: { protocol: 'udp', address: '10.0.0.1', port: 53, fwmark: 0, family: 4 }, format: { numeric: true, stats: true, rate: false, thresholds: false, persistentConn: false, tunInfo: false, exact: true, nosort: false, json: true, health: false } });
  t.equal((command('-L -c') as { view: string }).view, 'connections');
  t.equal((command('-L --timeout') as { view: string }).view, 'timeout');
  t.equal((command('-L --daemon') as { view: string }).view, 'daemon');
});

t.test('--health (uvs): a list format, refused elsewhere', async (t) => {
  t.equal((command('-L -n --health') as { format: { health: boolean } }).format.health, true, '-L -n --health');
  t.same(failure('-A -t 10.0.0.1:80 --health'), ["Illegal 'health' option with the 'add-service' command", 2], 'not with -A');
  t.same(failure('-L --health --health'), ["multiple 'health' options specified", 2], 'not twice');
});
