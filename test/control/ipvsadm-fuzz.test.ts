// Fuzzed command lines (option soup, truncated arguments, huge numbers, bad addresses,
// random bytes) never throw: parsing always gives a command or an error with a message and
// ipvsadm's exit code, and whatever parses can be applied, listed and saved.
import t from 'tap';
import { emptyTable } from '../../src/config/model.js';
import { applyCommand, formatListing, formatSave, listingDataOf, parseArgs, parseRestore, runUvsadm, type UvsadmState } from '../../src/control/ipvsadm/index.js';
import { stateAfter, WORKED_EXAMPLE } from './helpers.js';
import { prng } from './random-table.js';

const OPTIONS = [
  '-A', '-E', '-D', '-C', '-R', '-S', '-a', '-e', '-d', '-L', '-l', '-Z', '-h', '-v', '-t', '-u', '-f', '-6', '-s', '-p', '-M', '-r', '-g', '-i', '-m', '-w', '-x', '-y',
  '-n', '-c', '-X', '-o', '-b', '--set', '--start-daemon', '--stop-daemon', '--sctp-service', '--tcp-service', '--persistent', '--scheduler', '--timeout', '--daemon',
  '--stats', '--rate', '--thresholds', '--persistent-conn', '--nosort', '--sort', '--exact', '--syncid', '--mcast-interface', '--mcast-group', '--mcast-port',
  '--mcast-ttl', '--sync-maxlen', '--tun-info', '--tun-type', '--tun-port', '--tun-nocsum', '--tun-csum', '--tun-remcsum', '--pe', '--json', '--', '-', '-Ln', '-Lnc',
  '-At', '-ar', '--weight=', '--persistent=', '-p=', '--nope', '-Q',
];
const VALUES = [
  '10.0.0.1:80', '10.0.0.1', '10.0.0.2:8080', '[2001:db8::1]:80', '2001:db8::1', '[::1]', '::', '0.0.0.0:0', '224.0.0.1', '255.255.255.255', '10.1', '0x0a000001:http',
  '80', '0', '1', '-1', '65535', '65536', '2147483647', '2147483648', '4294967295', '4294967296', '99999999999999999999999999', '360', 'rr', 'wlc', 'sh', 'mh', 'none',
  'nosuch', 'sip', 'master', 'backup', 'gue', 'gre', 'ipip', 'sh-port,sh-fallback', 'flag-1,flag-3', ',', '', 'eth0', 'ff02::81', '224.0.0.81', '255.255.255.0', '64',
  '129', 'http', 'domain', '[10.0.0.1]:80', '1.2.3.4.5', '!#:+', 'ipvsadm', '#',
];

const TEMPLATES = [
  ...WORKED_EXAMPLE,
  '-A -t [2001:db8::80]:80 -s rr -p 100 -M 64',
  '-E -u 10.0.0.2:53 -s mh -b mh-port -o',
  '-e -t 10.0.0.1:80 -r 192.168.1.3:8080 -m -w 7 -x 10 -y 5',
  '-a -t 10.0.0.1:443 -r 10.9.9.9 -i --tun-type gue --tun-port 6080 --tun-csum',
  '-d -t 10.0.0.1:80 -r 192.168.1.2:80',
  '-D -f 5',
  '-Z -t 10.0.0.1:80',
  '--set 10 20 30',
  '-L -n --stats --exact -t 10.0.0.1:80',
  '--start-daemon master --mcast-group 224.0.0.81 --syncid 3',
].map((l) => l.split(' '));

/** A valid line with a few words dropped, replaced, inserted or cut short. */
function mutatedArgv(random: () => number): string[] {
  const int = (n: number): number => Math.floor(random() * n);
  const argv = [...TEMPLATES[int(TEMPLATES.length)]!];
  for (let k = int(3); k > 0; k--) {
    const at = int(argv.length + 1);
    const r = random();
    if (r < 0.3) argv.splice(at, 1);
    else if (r < 0.6) argv.splice(at, 1, VALUES[int(VALUES.length)]!);
    else if (r < 0.85) argv.splice(at, 0, OPTIONS[int(OPTIONS.length)]!);
    else if (argv[at] !== undefined) argv[at] = argv[at]!.slice(0, int(argv[at]!.length));
  }
  return argv;
}

function randomArgv(random: () => number): string[] {
  const int = (n: number): number => Math.floor(random() * n);
  if (random() < 0.5) return mutatedArgv(random);
  const argv: string[] = [];
  for (let k = int(9); k > 0; k--) {
    const r = random();
    if (r < 0.45) argv.push(OPTIONS[int(OPTIONS.length)]!);
    else if (r < 0.85) argv.push(VALUES[int(VALUES.length)]!);
    else if (r < 0.95) {
      const v = OPTIONS[int(OPTIONS.length)]! + (random() < 0.5 ? '=' : '') + VALUES[int(VALUES.length)]!;
      argv.push(v.slice(0, int(v.length + 1)));
    } else argv.push(Array.from({ length: int(12) }, () => String.fromCharCode(int(0x3000))).join(''));
  }
  return argv;
}

t.test('random command lines never throw', async (t) => {
  const random = prng(20240601);
  const worked = stateAfter(WORKED_EXAMPLE);
  const outcomes = new Map<string, number>();
  let failures = 0;
  for (let i = 0; i < 20000; i++) {
    const argv = randomArgv(random);
    let state: UvsadmState = random() < 0.5 ? worked : { table: emptyTable(), daemons: [] };
    try {
      const p = parseArgs(argv);
      if (p.ok) {
        outcomes.set(p.command.kind, (outcomes.get(p.command.kind) ?? 0) + 1);
        const applied = applyCommand(state.table, p.command);
        if (!applied.ok && (typeof applied.message !== 'string' || applied.exitCode !== 255)) throw new Error('bad kernel error');
        if (applied.ok) state = { ...state, table: applied.table };
        if (p.command.kind === 'list') formatListing(p.command, listingDataOf(state.table));
        formatSave(state.table, random() < 0.5);
      } else {
        outcomes.set(`error ${p.exitCode}`, (outcomes.get(`error ${p.exitCode}`) ?? 0) + 1);
        if (typeof p.message !== 'string' || p.message === '' || ![2, 255].includes(p.exitCode)) throw new Error(`bad failure ${JSON.stringify(p)}`);
      }
      const r = runUvsadm(state, argv, { stdin: argv.join(' ') });
      if (!Number.isInteger(r.exitCode) || typeof r.stdout !== 'string') throw new Error('bad run outcome');
    } catch (e) {
      failures++;
      if (failures < 5) t.fail(`${JSON.stringify(argv)}: ${(e as Error).stack}`);
    }
  }
  t.equal(failures, 0, 'no exceptions');
  t.ok((outcomes.get('error 2') ?? 0) > 100 && (outcomes.get('error 255') ?? 0) > 100, 'both kinds of errors are met');
  t.ok(['add-service', 'edit-service', 'delete-service', 'add-server', 'edit-server', 'delete-server', 'list', 'zero', 'flush', 'set', 'start-daemon'].every((k) => (outcomes.get(k) ?? 0) > 0), `commands are met too: ${JSON.stringify([...outcomes])}`);
});

t.test('random -R input never throws', async (t) => {
  const random = prng(99);
  let failures = 0;
  for (let i = 0; i < 2000; i++) {
    const text = Array.from({ length: Math.floor(random() * 6) }, () => randomArgv(random).join(random() < 0.8 ? ' ' : '\t')).join(random() < 0.9 ? '\n' : '\r\n');
    try {
      parseRestore(text);
      runUvsadm({ table: emptyTable(), daemons: [] }, ['-R'], { stdin: text });
    } catch (e) {
      failures++;
      if (failures < 5) t.fail(`${JSON.stringify(text)}: ${(e as Error).stack}`);
    }
  }
  t.equal(failures, 0);
});
