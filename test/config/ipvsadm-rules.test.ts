// The ipvsadm-rules config dialect: loading `ipvsadm -S` output (and hand-written rules
// with comments, "ipvsadm" prefixes, edits and deletions) into the model, errors naming
// file:line and the argument, and saving losslessly (thresholds and timeouts included).
import t from 'tap';
import { loadIpvsadmRules, saveIpvsadmRules } from '../../src/config/ipvsadm-rules.js';
import { formatSave } from '../../src/control/ipvsadm/index.js';
import { WORKED_EXAMPLE_SAVED } from '../control/helpers.js';
import { normalized, prng, randomTable } from '../control/random-table.js';

const SAVED = WORKED_EXAMPLE_SAVED;

const loadError = (text: string): string => {
  try {
    loadIpvsadmRules(text, 'rules.conf');
    return 'loaded';
  } catch (e) {
    return `${(e as { code?: string }).code}: ${(e as Error).message}`;
  }
};

t.test('ipvsadm -S output loads into the model', async (t) => {
  const table = loadIpvsadmRules(SAVED, '/etc/ipvsadm.rules');
  t.equal(table.services.length, 4);
  const [http, https, dns, fwm] = table.services;
  t.same({ ...http!, servers: http!.servers.length }, { protocol: 'tcp', address: '10.0.0.1', port: 80, fwmark: 0, family: 4, scheduler: 'wlc', persistent: 0, netmask: '255.255.255.255', schedFlags: [], onePacket: false, pe: '', servers: 2, origin: '/etc/ipvsadm.rules:1' });
  t.same(http!.servers[1], { address: '192.168.1.3', port: 8080, method: 'nat', weight: 3, upper: 0, lower: 0, origin: '/etc/ipvsadm.rules:3' });
  t.same(https!.servers.map((r) => [r.method, r.port, r.tunType]), [['dr', 443, undefined], ['tun', 443, 'ipip']]);
  t.same(dns!.schedFlags, ['sh-fallback', 'sh-port']);
  t.same([fwm!.fwmark, fwm!.persistent, fwm!.netmask, fwm!.servers[0]!.weight], [5, 600, '255.255.255.0', 2]);
  t.equal(formatSave(table, true), SAVED, 'saving it again gives the same text');
});

t.test('hand-written rules: comments, ipvsadm prefixes, edits, deletions, --set', async (t) => {
  const table = loadIpvsadmRules(
    `# director rules
ipvsadm -A -t 10.0.0.1:http -s rr

   # indented comment
ipvsadm -a -t 10.0.0.1:80 -r 10.0.1.1:8080 -m -x 100 -y 10
-a -t 10.0.0.1:80 -r 10.0.1.2:8080 -m
-e -t 10.0.0.1:80 -r 10.0.1.2:8080 -m -w 4
-A -t 10.0.0.9:80
-D -t 10.0.0.9:80
-d -t 10.0.0.1:80 -r 10.0.1.1:8080
--set 60 0 0
-Z
`,
    'rules',
  );
  t.same(table.services.map((s) => [s.address, s.port, s.scheduler, s.servers.map((r) => `${r.address}:${r.port}/${r.weight}`)]), [['10.0.0.1', 80, 'rr', ['10.0.1.2:8080/4']]]);
  t.same(table.timeouts, { tcp: 60, tcpfin: 0, udp: 0 });
});

t.test('errors name file:line, the message and the argument', async (t) => {
  const cases: [string, string][] = [
    ['-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2 -w 70000\n', '2: illegal weight specified (-w 70000)'],
    ['-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80\n', '2: Service already exists (-t 10.0.0.1:80)'],
    ['-a -t 10.0.0.1:80 -r 10.0.0.2\n', '1: Service not defined (-t 10.0.0.1:80 -r 10.0.0.2:80)'],
    ['-A -f 3 -6\n-a -f 3 -6 -r 2001:db8::1:80 -m -y 4\n', '2: Numerical result out of range (-f 3 -6 -r [2001:db8::1:80]:0)'],
    ['-A -t 10.0.0.1:80 -s nosuch\n', '1: Scheduler or persistence engine not found (-t 10.0.0.1:80)'],
    ['\n\n-A -t www.example.com:80\n', '3: illegal virtual server address[:port] specified (-t www.example.com:80)'],
    ['-A -6 -f 1\n', '1: -6 used before -f (-6)'],
    ['-A -t 10.0.0.1:80 -w 1\n', "1: Illegal 'weight' option with the 'add-service' command"],
    ['-A -t 10.0.0.1:80 extra\n', '1: unexpected argument extra (extra)'],
    ['-A -t 10.0.0.1:80 -Q\n', '1: -Q: unknown option'],
    ['-L -n\n', "1: '-L -n' is not a rule (a rules file holds -A -E -D -a -e -d -C -Z and --set lines)"],
    ['-R\n', "1: Try `ipvsadm -h' or 'ipvsadm --help' for more information."],
    ['--start-daemon master\n', "1: '--start-daemon master' is not a rule (a rules file holds -A -E -D -a -e -d -C -Z and --set lines)"],
  ];
  for (const [text, message] of cases) t.equal(loadError(text), `UVS_IPVSADM_RULES: rules.conf:${message}`, text);
});

t.test('saveIpvsadmRules keeps thresholds and timeouts, and loads back to the same table', async (t) => {
  const table = loadIpvsadmRules('--set 60 0 5\n-A -u 10.0.0.2:53 -s rr\n-a -u 10.0.0.2:53 -r 192.168.1.4:53 -m -x 100 -y 50\n-a -u 10.0.0.2:53 -r 192.168.1.5:53 -m -x 7\n', 'in');
  const text = saveIpvsadmRules(table);
  t.equal(text, '--set 60 0 5\n-A -u 10.0.0.2:53 -s rr\n-a -u 10.0.0.2:53 -r 192.168.1.4:53 -m -w 1 -x 100 -y 50\n-a -u 10.0.0.2:53 -r 192.168.1.5:53 -m -w 1 -x 7\n');
  const strip = (x: unknown): string => JSON.stringify(normalized(JSON.parse(JSON.stringify(x, (k, v: unknown) => (k === 'origin' ? undefined : v)))));
  t.equal(strip(loadIpvsadmRules(text, 'out')), strip(table));
  for (let seed = 1; seed <= 200; seed++) {
    const random = prng(seed);
    const original = randomTable(random);
    for (const s of original.services) for (const r of s.servers) if (random() < 0.3) [r.upper, r.lower] = [100, 40];
    original.timeouts = { tcp: seed % 3 ? 0 : seed, tcpfin: 0, udp: seed % 5 };
    const back = loadIpvsadmRules(saveIpvsadmRules(original), 'random');
    if (strip(back) !== strip(original)) {
      t.fail(`seed ${seed}:\n${saveIpvsadmRules(original)}`);
      return;
    }
  }
  t.pass('200 random tables with thresholds and timeouts survive save/load');
});
