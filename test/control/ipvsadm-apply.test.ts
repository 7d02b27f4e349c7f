// Commands applied to the model as the kernel applies them: a sequence of commands and the
// model after each, -E/-e resetting what they do not give, the DR/TUN port rule, -C, --set,
// -Z, and every kernel error text with exit 255 (ipvsadm.md 2, 3.3, 5).
import t from 'tap';
import { emptyTable, type ServiceTable } from '../../src/config/model.js';
import { applyCommand, applyDaemonCommand, parseArgs, type Command } from '../../src/control/ipvsadm/index.js';
import { run, stateAfter, words } from './helpers.js';

const cmd = (line: string): Command => {
  const p = parseArgs(words(line));
  if (!p.ok) throw new Error(`${line}: ${p.message}`);
  return p.command;
};

function applyAll(lines: readonly string[], table: ServiceTable = emptyTable()): ServiceTable {
  for (const line of lines) {
    const r = applyCommand(table, cmd(line));
    if (!r.ok) throw new Error(`${line}: ${r.message}`);
    table = r.table;
  }
  return table;
}

/** The kernel's answer to the last line after the others. */
function kernelError(lines: readonly string[], last: string): [string, string] | 'ok' {
  const r = applyCommand(applyAll(lines), cmd(last));
  return r.ok ? 'ok' : [r.errno, r.message];
}

const VIP = { protocol: 'tcp' as const, address: '10.0.0.1', port: 80, fwmark: 0, family: 4 as const };
const nat = (address: string, port: number, weight = 1): object => ({ address, port, method: 'nat', weight, upper: 0, lower: 0 });

t.test('a sequence of commands and the model after it', async (t) => {
  let table = applyAll(['-A -t 10.0.0.1:80 -s rr']);
  t.same(table.services, [{ ...VIP, scheduler: 'rr', persistent: 0, netmask: '255.255.255.255', schedFlags: [], onePacket: false, pe: '', servers: [] }], 'add service');

  table = applyAll(['-a -t 10.0.0.1:80 -r 192.168.1.2:8080 -m', '-a -t 10.0.0.1:80 -r 192.168.1.3:8080 -m', '-a -t 10.0.0.1:80 -r 192.168.1.4:8080 -m -w 2'], table);
  t.same(table.services[0]!.servers, [nat('192.168.1.2', 8080), nat('192.168.1.3', 8080), nat('192.168.1.4', 8080, 2)], 'three NAT servers, in add order');

  table = applyAll(['-e -t 10.0.0.1:80 -r 192.168.1.3:8080 -m -w 5'], table);
  t.same(table.services[0]!.servers[1], nat('192.168.1.3', 8080, 5), 'edit weight, same place');

  table = applyAll(['-d -t 10.0.0.1:80 -r 192.168.1.2:8080'], table);
  t.same(table.services[0]!.servers.map((r) => r.address), ['192.168.1.3', '192.168.1.4'], 'delete server');

  table = applyAll(['-E -t 10.0.0.1:80 -s sh -b sh-port -p 120 -M 255.255.0.0 --pe sip'], table);
  t.same({ ...table.services[0]!, servers: [] }, { ...VIP, scheduler: 'sh', persistent: 120, netmask: '255.255.0.0', schedFlags: ['sh-port'], onePacket: false, pe: 'sip', servers: [] });
  table = applyAll(['-E -t 10.0.0.1:80'], table);
  t.same({ ...table.services[0]!, servers: [] }, { ...VIP, scheduler: 'wlc', persistent: 0, netmask: '255.255.255.255', schedFlags: [], onePacket: false, pe: '', servers: [] }, '-E resets every option not given');
  t.equal(table.services[0]!.servers.length, 2, '-E keeps the servers');

  table = applyAll(['-e -t 10.0.0.1:80 -r 192.168.1.4:8080 -m'], table);
  t.same(table.services[0]!.servers[1], nat('192.168.1.4', 8080, 1), '-e resets the weight to 1');

  table = applyAll(['--set 60 0 10'], table);
  t.same(table.timeouts, { tcp: 60, tcpfin: 0, udp: 10 });
  table = applyAll(['--set 0 30 0'], table);
  t.same(table.timeouts, { tcp: 60, tcpfin: 30, udp: 10 }, '0 leaves a timeout unchanged');

  const zeroed = applyAll(['-Z', '-Z -t 10.0.0.1:80'], table);
  t.same(zeroed, table, '-Z changes no configuration');

  table = applyAll(['-A -f 1 -s rr', '-C'], table);
  t.same(table.services, [], '-C removes every service');
  t.same(table.timeouts, { tcp: 60, tcpfin: 30, udp: 10 }, '-C keeps the timeouts');
});

t.test('-e without the method: the DR default forces the service port (ipvsadm.md 2)', async (t) => {
  const base = ['-A -t 10.0.0.1:80', '-a -t 10.0.0.1:80 -r 10.0.0.5:8080 -m -w 3'];
  t.same(kernelError(base, '-e -t 10.0.0.1:80 -r 10.0.0.5:8080 -w 4'), ['ENOENT', 'No such destination'], 'looked up as :80');
  t.equal(kernelError(base, '-e -t 10.0.0.1:80 -r 10.0.0.5:8080 -m -w 4'), 'ok');
  const dr = applyAll([...base.slice(0, 1), '-a -t 10.0.0.1:80 -r 10.0.0.6 -i --tun-type gue --tun-port 6080 --tun-csum -x 10 -y 5', '-e -t 10.0.0.1:80 -r 10.0.0.6'])
    .services[0]!.servers[0];
  t.same(dr, { address: '10.0.0.6', port: 80, method: 'dr', weight: 1, upper: 0, lower: 0 }, '-e resets method, thresholds and tunnel settings');
  const tun = applyAll(['-A -t 10.0.0.1:80', '-a -t 10.0.0.1:80 -r 10.0.0.6 -i --tun-type gue --tun-port 6080 --tun-csum']).services[0]!.servers[0];
  t.same(tun, { address: '10.0.0.6', port: 80, method: 'tun', weight: 1, upper: 0, lower: 0, tunType: 'gue', tunPort: 6080, tunCsum: 'csum' });
});

t.test('kernel errors', async (t) => {
  const svc = ['-A -t 10.0.0.1:80', '-a -t 10.0.0.1:80 -r 10.0.0.5 -g'];
  t.same(kernelError(svc, '-A -t 10.0.0.1:80 -s rr'), ['EEXIST', 'Service already exists']);
  t.same(kernelError(svc, '-A -t 10.0.0.1:80 -s nosuch'), ['EEXIST', 'Service already exists'], 'existence is checked first');
  t.same(kernelError([], '-A -t 10.0.0.1:80 -s nosuch'), ['ENOENT', 'Scheduler or persistence engine not found']);
  t.same(kernelError([], '-A -t 10.0.0.1:80 -p --pe nosuch'), ['ENOENT', 'Scheduler or persistence engine not found']);
  t.same(kernelError(svc, '-E -t 10.0.0.1:80 -s nosuch'), ['ENOENT', 'Scheduler or persistence engine not found']);
  t.equal(kernelError([], '-A -t 10.0.0.1:80 -s none'), 'ok', "the kernel's no-scheduler name");
  for (const s of ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos']) t.equal(kernelError([], `-A -t 10.0.0.1:80 -s ${s}`), 'ok', s);
  t.same(kernelError(svc, '-E -t 10.0.0.2:80'), ['ESRCH', 'No such service']);
  t.same(kernelError(svc, '-E -u 10.0.0.1:80'), ['ESRCH', 'No such service'], 'a protocol mismatch is no such service');
  t.same(kernelError(svc, '-D -t 10.0.0.2:80'), ['ESRCH', 'No such service']);
  t.same(kernelError(svc, '-Z -t 10.0.0.2:80'), ['ESRCH', 'No such service']);
  t.same(kernelError(['-A -f 5'], '-D -f 5 -6'), ['ESRCH', 'No such service'], 'fwmark services are told apart by family');
  t.same(kernelError(svc, '-a -t 10.0.0.2:80 -r 10.0.0.5'), ['ESRCH', 'Service not defined']);
  t.same(kernelError(svc, '-e -t 10.0.0.2:80 -r 10.0.0.5'), ['ESRCH', 'Service not defined']);
  t.same(kernelError(svc, '-d -t 10.0.0.2:80 -r 10.0.0.5'), ['ESRCH', 'Service not defined']);
  t.same(kernelError(svc, '-a -t 10.0.0.1:80 -r 10.0.0.5 -w 3'), ['EEXIST', 'Destination already exists']);
  t.same(kernelError(svc, '-e -t 10.0.0.1:80 -r 10.0.0.6'), ['ENOENT', 'No such destination']);
  t.same(kernelError(svc, '-d -t 10.0.0.1:80 -r 10.0.0.6'), ['ENOENT', 'No such destination']);
  t.same(kernelError(svc, '-d -t 10.0.0.1:80 -r 10.0.0.5:81'), ['ENOENT', 'No such destination']);
  t.same(kernelError(svc, '-a -t 10.0.0.1:80 -r 10.0.0.7 -y 5'), ['ERANGE', 'Numerical result out of range'], '-y without -x');
  t.same(kernelError(svc, '-a -t 10.0.0.1:80 -r 10.0.0.5 -x 1 -y 5'), ['ERANGE', 'Numerical result out of range'], 'ERANGE before EEXIST');
  t.same(kernelError(svc, '-e -t 10.0.0.1:80 -r 10.0.0.9 -x 1 -y 5'), ['ERANGE', 'Numerical result out of range'], 'ERANGE before ENOENT');
  t.equal(kernelError(svc, '-a -t 10.0.0.1:80 -r 10.0.0.7 -x 5 -y 5'), 'ok');
  const invalid = ['EINVAL', 'Invalid operation.  Possibly wrong module version, address not unicast, ...'];
  for (const addr of ['224.0.0.1', '239.1.2.3', '0.0.0.0', '0.1.2.3', '255.255.255.255']) t.same(kernelError(svc, `-a -t 10.0.0.1:80 -r ${addr}`), invalid, addr);
  for (const addr of ['::', 'ff02::1', 'fe80::1', '::ffff:10.0.0.1']) t.same(kernelError(['-A -t [2001:db8::1]:80'], `-a -t [2001:db8::1]:80 -r ${addr}`), invalid, addr);
  for (const addr of ['127.0.0.1', '10.255.255.255', '2001:db8::9', '::1'])
    t.equal(kernelError(['-A -t [2001:db8::1]:80', '-A -t 10.0.0.1:80'], `-a -t ${addr.includes(':') ? '[2001:db8::1]' : '10.0.0.1'}:80 -r ${addr}`), 'ok', addr);
  t.same(kernelError(svc, '-a -t 10.0.0.1:80 -r 10.0.0.5'), ['EEXIST', 'Destination already exists']);

  const state = stateAfter(svc);
  t.same(run(state, '-A -t 10.0.0.1:80'), { out: '', err: 'Service already exists\n', code: 255, state }, 'printed with exit 255');
});

t.test('sync daemons', async (t) => {
  const started = applyDaemonCommand([], cmd('--start-daemon master --mcast-interface eth3 --syncid 9'));
  t.ok(started.ok);
  if (!started.ok) return;
  t.same(started.daemons, [{ state: 'master', mcastInterface: 'eth3', syncid: 9, maxlen: 1472, group: '224.0.0.81', port: 8848, ttl: 1 }]);
  t.same(applyDaemonCommand(started.daemons, cmd('--start-daemon master')), { ok: false, message: 'Daemon has already run', exitCode: 255, errno: 'EEXIST' });
  t.same(applyDaemonCommand(started.daemons, cmd('--stop-daemon backup')), { ok: false, message: 'No daemon is running', exitCode: 255, errno: 'ESRCH' });
  t.same(applyDaemonCommand(started.daemons, cmd('--stop-daemon master')), { ok: true, daemons: [] });
  const both = stateAfter(['--start-daemon backup', '--start-daemon master']);
  t.same(both.daemons.map((d) => d.state), ['master', 'backup']);
  t.equal(run(both, '--start-daemon backup').err, 'Daemon has already run\n');
});
