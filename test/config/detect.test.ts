// Dialect detection from content, and loadConfig: dispatch to the dialect's loader
// (replaceable), warnings passed on, the model validated, the JSON forward config read
// into the model.
import t from 'tap';
import { detectDialect, loadConfig } from '../../src/config/detect.js';
import { loadKeepalived } from '../../src/config/keepalived.js';
import { emptyTable, newServer, newService } from '../../src/config/model.js';
import { KEEPALIVED_NAT, LVS_CF_DR, LVS_CF_NAT } from './fixtures/examples.js';

/** ipvsadm.md §9's `ipvsadm -S -n`. */
const IPVSADM_SAVE = `-A -t 10.0.0.1:80 -s wlc
-a -t 10.0.0.1:80 -r 192.168.1.2:80 -m -w 1
-A -f 5 -s lc -p 600 -M 255.255.255.0
-a -f 5 -r 192.168.1.5:0 -g -w 2
`;

t.test('the dialect is told from the content', async (t) => {
  t.equal(detectDialect(LVS_CF_NAT), 'lvs.cf');
  t.equal(detectDialect(LVS_CF_DR), 'lvs.cf');
  t.equal(detectDialect(KEEPALIVED_NAT), 'keepalived');
  t.equal(detectDialect(IPVSADM_SAVE), 'ipvsadm-rules');
  t.equal(detectDialect(`# restore input\nipvsadm -A -u 10.0.0.2:53 -s rr\nipvsadm --set 900 120 300\n`), 'ipvsadm-rules');
  t.equal(detectDialect('  {"interfaces": ["pub0"], "services": []}'), 'json');
  t.equal(detectDialect('! Configuration File for keepalived\ninclude /etc/keepalived/conf.d/*.conf\n'), 'keepalived');
  t.equal(detectDialect('# lvs.cf fragment\nvirtual web {\n active = 1\n}\n'), 'lvs.cf');
  t.equal(detectDialect('virtual_server 10.0.0.1 80 {\n delay_loop 6\n}\n'), 'keepalived');
  t.equal(detectDialect('\n# nothing yet\n\n'), 'ipvsadm-rules', 'empty: an empty rule set');
  t.equal(detectDialect('hello world\nthis is not a config\n'), undefined);
});

t.test('loadConfig dispatches, passes warnings on and validates', async (t) => {
  const nat = loadConfig(LVS_CF_NAT, 'lvs.cf');
  t.equal(nat.dialect, 'lvs.cf');
  t.equal(nat.table.services.length, 2);
  t.strictSame(nat.warnings, []);

  const saved = loadConfig(IPVSADM_SAVE, 'rules');
  t.strictSame([saved.dialect, saved.table.services.map((s) => s.servers.length)], ['ipvsadm-rules', [1, 1]], 'ipvsadm rules go to loadIpvsadmRules');

  const calls: string[] = [];
  const rules = loadConfig(IPVSADM_SAVE, 'rules', {
    'ipvsadm-rules': (text, file) => {
      calls.push(file);
      const table = emptyTable();
      table.services.push({ ...newService({ protocol: 'tcp', address: '10.0.0.1', port: 80, fwmark: 0, family: 4 }), servers: [{ ...newServer('192.168.1.2', 80), method: 'nat' }] });
      return table;
    },
  });
  t.strictSame([rules.dialect, calls, rules.warnings], ['ipvsadm-rules', ['rules'], []], 'a loader returning a bare table');

  const k = loadConfig('virtual_server 10.0.0.1 80 {\n lvs_method NAT\n include servers.conf\n}\n', '/etc/k.conf', {
    keepalived: (text, file) => loadKeepalived(text, file, { readFile: () => 'real_server 10.0.1.1 80 {\n weight 2\n}\n' }),
  });
  t.strictSame([k.dialect, k.table.services[0]!.servers[0]!.origin, k.warnings], ['keepalived', '/etc/servers.conf:1', ['/etc/k.conf:1: virtual_server without protocol: keepalived uses UDP (write protocol TCP for TCP)']]);

  t.throws(() => loadConfig(LVS_CF_NAT.replace('weight = 2', 'weight = 70000'), 'lvs.cf'), { code: 'UVS_CONFIG', message: /^lvs\.cf:49: TCP 203\.0\.113\.100:80 -> 192\.168\.10\.12:8080: weight 70000: expected 0\.\.65535$/ }, 'validated: kernel rules name file:line and the value');
  t.throws(() => loadConfig(LVS_CF_NAT.replace('scheduler = wlc', 'scheduler = fastest'), 'lvs.cf'), { message: /^lvs\.cf:24: TCP 203\.0\.113\.100:80: unknown scheduler "fastest" \(have: rr, wrr, / });
  t.throws(() => loadConfig('# what is this\nhello world\n', 'mystery.conf'), { code: 'UVS_CONFIG', message: /^mystery\.conf:2: cannot tell the config dialect from "hello world": expected ipvsadm rules/ });
});

t.test('the JSON forward config reads into the model', async (t) => {
  const json = JSON.stringify({
    interfaces: ['pub0', 'priv0'],
    owned: ['198.19.0.254'],
    timeouts: { tcp: 60, tcpfin: 0, udp: 5 },
    markRules: ['-t mangle -A PREROUTING -p tcp -d 198.18.0.101/32 --dport 80 -j MARK --set-mark 3'],
    services: [
      { protocol: 'tcp', address: '198.18.0.100', port: 80, scheduler: 'sh', schedFlags: ['sh-port'], persistent: 60, netmask: '255.255.255.0', servers: [{ address: '198.19.0.11', port: 8080, method: 'nat', weight: 3, upper: 10, lower: 5 }] },
      { fwmark: 3, scheduler: 'rr', persistent: true, servers: [{ address: '198.19.0.12', method: 'dr' }] },
    ],
  });
  const { dialect, table, warnings } = loadConfig(json, 'fwd.json');
  t.equal(dialect, 'json');
  t.strictSame(table, {
    services: [
      {
        protocol: 'tcp', address: '198.18.0.100', port: 80, fwmark: 0, family: 4, scheduler: 'sh', persistent: 60, netmask: '255.255.255.0', schedFlags: ['sh-port'], onePacket: false, pe: '',
        servers: [{ address: '198.19.0.11', port: 8080, method: 'nat', weight: 3, upper: 10, lower: 5, origin: 'fwd.json: $.services[0].servers[0]' }],
        origin: 'fwd.json: $.services[0]',
      },
      {
        protocol: 'tcp', address: '', port: 0, fwmark: 3, family: 4, scheduler: 'rr', persistent: 360, netmask: '255.255.255.255', schedFlags: [], onePacket: false, pe: '',
        servers: [{ address: '198.19.0.12', port: 0, method: 'dr', weight: 1, upper: 0, lower: 0, origin: 'fwd.json: $.services[1].servers[0]' }],
        origin: 'fwd.json: $.services[1]',
      },
    ],
    timeouts: { tcp: 60, tcpfin: 0, udp: 5 },
    director: { owned: ['198.19.0.254'], interfaces: ['pub0', 'priv0'] },
  });
  t.strictSame(warnings, ['fwd.json: $.markRules: datapath tuning, not part of the service table: give it to uvsd, not loaded here']);
});
