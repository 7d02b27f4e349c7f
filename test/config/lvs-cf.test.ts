// Piranha lvs.cf: the reference's NAT and DR examples load to the exact model; the model
// saves back to lvs.cf that loads to the same model; lvsconfig.c's lexical rules; nanny's
// check defaults; errors name file:line; fuzzed files only ever raise UVS_CONFIG.
import t from 'tap';
import { loadLvsCf, saveLvsCf } from '../../src/config/lvs-cf.js';
import type { ServiceTable } from '../../src/config/model.js';
import { validateTable } from '../../src/config/validate.js';
import { LVS_CF_DR, LVS_CF_NAT } from './fixtures/examples.js';
import { fuzzLoader } from './fixtures/mutate.js';

const server = (address: string, port: number, weight: number, name: string, origin: string, method: 'nat' | 'dr' = 'nat') => ({ address, port, method, weight, upper: 0, lower: 0, name, origin });
const base = { schedFlags: [], onePacket: false, pe: '' };
/** A floating address as lvs.cf's `address = IP DEV:n` (+ mask) gives it. */
const floating = (address: string, label: string, origin: string, netmask?: string) => ({ address, ...(netmask ? { netmask } : {}), device: label.split(':')[0], label, origin });

/** The model without origins (they follow the lines, which saving renumbers). */
function withoutOrigins(table: ServiceTable): unknown {
  return JSON.parse(JSON.stringify(table, (k, v: unknown) => (k === 'origin' ? undefined : v)));
}

const minimal = (body: string, globals = ''): string => `${globals}\nvirtual v {\n active = 1\n address = 10.0.0.100 eth0:1\n${body}\n}\n`;

t.test('the NAT example (lvs-cf.md 5.1) loads to the exact model', async (t) => {
  const table = loadLvsCf(LVS_CF_NAT, 'nat.cf');
  t.strictSame(table, {
    services: [
      {
        protocol: 'tcp', address: '203.0.113.100', port: 80, fwmark: 0, family: 4, scheduler: 'wlc', persistent: 300, netmask: '255.255.255.0', ...base,
        servers: [server('192.168.10.11', 8080, 1, 'web1', 'nat.cf:42'), server('192.168.10.12', 8080, 2, 'web2', 'nat.cf:49')],
        name: 'web',
        vip: floating('203.0.113.100', 'eth0:1', 'nat.cf:26', '255.255.255.0'),
        quiesce: false,
        sorryServer: { address: '192.168.10.50', port: 80 },
        health: { kind: 'send-expect', interval: 6, timeout: 6, retries: 1, riseCount: 5, send: 'GET /health HTTP/1.0\r\n\r\n', expect: 'HTTP/1.[01] 200', regex: true, extra: { load_monitor: 'none' } },
        origin: 'nat.cf:24',
      },
      {
        protocol: 'udp', address: '203.0.113.101', port: 53, fwmark: 0, family: 4, scheduler: 'rr', persistent: 0, netmask: '255.255.255.255', ...base,
        servers: [server('192.168.10.21', 53, 1, 'ns1', 'nat.cf:68')],
        name: 'dns',
        vip: floating('203.0.113.101', 'eth0:2', 'nat.cf:59'),
        quiesce: false,
        health: { kind: 'external', interval: 5, timeout: 5, retries: 1, riseCount: 3, expect: 'OK', program: '/usr/local/sbin/check_dns %h' },
        origin: 'nat.cf:57',
      },
    ],
    timeouts: { tcp: 900, tcpfin: 120, udp: 300 },
    director: {
      owned: ['192.168.10.254'],
      floating: [floating('203.0.113.100', 'eth0:1', 'nat.cf:26', '255.255.255.0'), floating('203.0.113.101', 'eth0:2', 'nat.cf:59'), floating('192.168.10.254', 'eth1:1', 'nat.cf:13', '255.255.255.0')],
      interfaces: ['eth0', 'eth1'],
      ha: {
        serial_no: '14', primary: '203.0.113.2', primary_private: '10.11.12.2', service: 'lvs', backup_active: '1', backup: '203.0.113.3', backup_private: '10.11.12.3',
        heartbeat: '1', heartbeat_port: '539', keepalive: '2', deadtime: '10', debug_level: 'NONE', monitor_links: '1', syncdaemon: '1', syncd_iface: 'eth2', syncd_id: '7',
      },
    },
  });
  t.doesNotThrow(() => validateTable(table, 'nat.cf'), 'the kernel rules hold');
});

t.test('the DR example (lvs-cf.md 5.2) loads to the exact model', async (t) => {
  const table = loadLvsCf(LVS_CF_DR, 'dr.cf');
  t.strictSame(table, {
    services: [
      {
        protocol: 'tcp', address: '192.0.2.100', port: 80, fwmark: 0, family: 4, scheduler: 'wrr', persistent: 0, netmask: '255.255.255.255', ...base,
        servers: [server('192.0.2.11', 80, 100, 'rs1', 'dr.cf:29', 'dr'), server('192.0.2.12', 80, 50, 'rs2', 'dr.cf:34', 'dr')],
        name: 'www',
        vip: floating('192.0.2.100', 'eth0:1', 'dr.cf:17', '255.255.255.255'),
        quiesce: true,
        health: { kind: 'send-expect', interval: 5, timeout: 5, retries: 1, riseCount: 4, send: 'GET / HTTP/1.0\r\n\r\n', expect: 'HTTP', extra: { load_monitor: 'none' } },
        origin: 'dr.cf:15',
      },
      {
        // fwmark = 80: keyed by the mark; DR keeps the packet's port (server port 0); nanny probes 443.
        protocol: 'tcp', address: '', port: 0, fwmark: 80, family: 4, scheduler: 'wlc', persistent: 600, netmask: '255.255.255.255', ...base,
        servers: [server('192.0.2.11', 0, 1, 'rs1', 'dr.cf:53', 'dr')],
        name: 'shop',
        vip: floating('192.0.2.101', 'eth0:2', 'dr.cf:43', '255.255.255.255'),
        quiesce: false,
        health: { kind: 'tcp', interval: 5, timeout: 5, retries: 1, riseCount: 4, port: 443 },
        origin: 'dr.cf:41',
      },
    ],
    timeouts: { tcp: 0, tcpfin: 0, udp: 0 },
    director: {
      owned: ['192.0.2.101'],
      floating: [floating('192.0.2.100', 'eth0:1', 'dr.cf:17', '255.255.255.255'), floating('192.0.2.101', 'eth0:2', 'dr.cf:43', '255.255.255.255')],
      interfaces: ['eth0'],
      ha: { serial_no: '3', primary: '192.0.2.2', service: 'lvs', backup_active: '1', backup: '192.0.2.3', heartbeat: '1', heartbeat_port: '539', keepalive: '2', deadtime: '6', debug_level: 'NONE', syncdaemon: '1', syncd_iface: 'eth0' },
    },
  });
  t.doesNotThrow(() => validateTable(table, 'dr.cf'));
});

t.test('load -> save -> load gives the same model; saving is stable', async (t) => {
  for (const [name, text] of [['nat', LVS_CF_NAT], ['dr', LVS_CF_DR]] as const) {
    const first = loadLvsCf(text, `${name}.cf`);
    const saved = saveLvsCf(first);
    const second = loadLvsCf(saved, `${name}-saved.cf`);
    t.strictSame(withoutOrigins(second), withoutOrigins(first), `${name}: same model`);
    t.equal(saveLvsCf(second), saved, `${name}: saving again writes the same text`);
  }
  const odd = loadLvsCf(
    minimal(' port = 443\n fwmark = 9\n send = "a\\tb \\"q\\" \\\\x"\n expect = "ok"\n timeout = 3\n reentry = 7\n server a {\n  address = 10.0.1.1\n  active = 1\n  port = 8443\n }\n server b {\n  address = 10.0.1.2\n  active = 1\n }', 'network = direct\nactive_cmd = "/bin/up now"'),
    'odd.cf',
  );
  t.equal(odd.services[0]!.health!.send, 'a\tb "q" \\x', 'nanny escapes translated');
  t.strictSame(odd.services[0]!.servers.map((d) => [d.port, d.health?.port]), [[0, 8443], [0, undefined]], 'a routed fwmark server probed on its own port');
  t.strictSame(withoutOrigins(loadLvsCf(saveLvsCf(odd), 'again.cf')), withoutOrigins(odd), 'escapes, commands and probe ports survive');
});

t.test('lvsconfig.c lexical rules', async (t) => {
  const one = (body: string, globals = ''): ServiceTable => loadLvsCf(minimal(body, globals), 'f.cf');
  t.equal(one(' persistent = 0x10').services[0]!.persistent, 16, 'hex');
  t.equal(one(' persistent = 010').services[0]!.persistent, 8, 'leading 0: octal');
  t.equal(one(' port = https').services[0]!.port, 443, 'a virtual port may be a service name');
  t.equal(one('', 'keepalive = 3\r').director.ha!.keepalive, '3', '\\r\\n line ends');
  t.equal(one(' server a {\n  address = 10.0.1.1\n  active = 1\n }\n port = 8080').services[0]!.servers[0]!.port, 80, "a server's default port is the virtual's port as parsed so far");
  t.equal(one(' port = 8080\n server a {\n  address = 10.0.1.1\n  active = 1\n }').services[0]!.servers[0]!.port, 8080);
  t.equal(loadLvsCf('virtual v {\n address = 10.0.0.1 eth0\n}\n', 'f.cf').services.length, 0, 'active defaults to 0: the virtual is left out');
  t.equal(one(' server a {\n  address = 10.0.1.1\n }').services[0]!.servers.length, 0, 'inactive servers are left out');
  t.equal(one(' persistent = 60\n pmask = 255.255.255.255').services[0]!.netmask, '255.255.255.255');
  t.equal(one(' pmask = 255.255.0.0').services[0]!.netmask, '255.255.255.255', 'pmask without persistence: not passed (-M needs -p)');
  t.strictSame(one(' port = 25').services[0]!.health!.kind, 'tcp', 'no send/expect: a connect check');
  t.strictSame(one(' protocol = udp\n port = 53').services[0]!.health!.kind, 'send-expect', 'UDP always waits for a reply');
  t.strictSame(one(' sorry_server = 10.0.1.9\n port = 8080').services[0]!.sorryServer, { address: '10.0.1.9', port: 8080 });
  t.strictSame(one('', 'network = tunnel\nnat_router = 10.0.1.254 eth1:1').director.owned, [], 'nat_router only with network = nat');
  t.strictSame(one(' send = \'x\'').services[0]!.health!.send, 'x', 'single quotes are stripped too');
  const bad: [string, string, RegExp][] = [
    ['trailing comment', minimal('', 'keepalive = 6 # six'), /^f\.cf:1: keepalive: unexpected arguments after "6": "#"$/],
    ['key=value', minimal('', 'keepalive=6'), /^f\.cf:1: unknown command "keepalive=6"/],
    ['no =', minimal('', 'keepalive 6'), /^f\.cf:1: keepalive: equal \(=\) expected after command, got "6"/],
    ['unknown key', minimal('', 'mode = lvs'), /^f\.cf:1: unknown command "mode" \(expected one of serial_no, /],
    ['global key in a virtual', minimal(' keepalive = 2'), /^f\.cf:5: unknown command "keepalive" in virtual v/],
    ['boolean', minimal(' quiesce_server = yes'), /^f\.cf:5: quiesce_server: boolean expected \(0 or 1\), got "yes"/],
    ['integer', minimal(' persistent = 12abc'), /^f\.cf:5: persistent: integer expected, got "12abc"/],
    ['huge integer', minimal(' fwmark = 99999999999999999999'), /^f\.cf:5: fwmark: integer expected, got "99999999999999999999"/],
    ['port range', minimal(' port = 70000'), /^f\.cf:5: port: expected an integer 0\.\.65535, got 70000/],
    ['unknown port name', minimal(' port = gopherx'), /unknown service name "gopherx"/],
    ['real port by name', minimal(' server a {\n  port = http\n }'), /^f\.cf:6: port: integer expected, got "http"/],
    ['host name', minimal('', 'primary = lb1.example.com'), /^f\.cf:1: primary: expected an IPv4 address \(a\.b\.c\.d\), got "lb1\.example\.com" \(host names are not resolved\)/],
    ['address without device', minimal(' address = 10.0.0.1'), /^f\.cf:5: address: missing arguments: expected an address and a device/],
    ['mask', minimal(' vip_nmask = 255.0.255.0'), /^f\.cf:5: vip_nmask: netmask 255\.0\.255\.0 is not contiguous/],
    ['quotes', minimal(' send = "GET /'), /^f\.cf:5: quotation mismatch/],
    ['missing value', minimal(' scheduler ='), /^f\.cf:5: scheduler: missing arguments/],
    ['stray brace', '}\n', /^f\.cf:1: unexpected }: no block is open/],
    ['unclosed', 'virtual v {\n active = 1\n', /^f\.cf:1: unexpected end of file: virtual v is not closed/],
    ['nested virtual', 'virtual a {\nvirtual b {\n}\n}\n', /^f\.cf:2: virtual: blocks do not nest here: virtual a \(f\.cf:1\) is not closed/],
    ['server outside', 'server a {\n}\n', /^f\.cf:1: server: a server block belongs inside a virtual block/],
    ['brace on its own line', 'virtual a\n{\n}\n', /^f\.cf:1: virtual: expected "virtual NAME \{"/],
    ['missing address', 'virtual a {\n active = 1\n}\n', /^f\.cf:1: virtual a: missing address/],
    ['fos', minimal('', 'service = fos'), /^f\.cf:1: service = fos: failover services \(FOS\) are not supported/],
    ['empty', '\n# nothing\n', /^f\.cf:1: empty configuration/],
    ['dirs not a list', minimal(' dirs = a b'), /^f\.cf:5: dirs: list expected/],
  ];
  for (const [what, text, re] of bad) {
    t.throws(() => loadLvsCf(text, 'f.cf'), { name: 'UvsError', code: 'UVS_CONFIG', message: re }, what);
  }
  t.doesNotThrow(() => loadLvsCf('failover f {\n address = 10.0.0.1 eth0:1\n active = 1\n start_cmd = "/bin/start"\n stop_cmd = "/bin/stop"\n}\n', 'f.cf'), 'failover blocks parse (and are not loaded)');
  t.doesNotThrow(() => loadLvsCf(minimal(' dirs = [ /a /b ]\n master = 10.0.0.5'), 'f.cf'), 'legacy keys parse');
});

t.test('what lvs.cf cannot say is refused on save', async (t) => {
  const table = loadLvsCf(LVS_CF_NAT, 'nat.cf');
  const mixed = structuredClone(table);
  mixed.services[0]!.servers[0]!.method = 'dr';
  t.throws(() => saveLvsCf(mixed), /cannot write lvs\.cf: lvs\.cf has one forwarding method \(network\) for every server; the table mixes dr, nat/);
  const flagged = structuredClone(table);
  flagged.services[1]!.onePacket = true;
  t.throws(() => saveLvsCf(flagged), /UDP 203\.0\.113\.101:53: scheduler flags, one-packet scheduling and persistence engines have no lvs\.cf key/);
  const v6 = structuredClone(table);
  Object.assign(v6.services[0]!, { family: 6, address: '2001:db8::1', vip: undefined });
  v6.director.floating = [];
  t.throws(() => saveLvsCf(v6), /lvs\.cf is IPv4 only/);
  const foreign = structuredClone(table);
  foreign.director.ha = { 'vrrp_instance VI_1.priority': '100' };
  t.throws(() => saveLvsCf(foreign), /"vrrp_instance VI_1\.priority" is not an lvs\.cf global setting/);
});

t.test('fuzz: mutated lvs.cf files load or raise UVS_CONFIG naming file:line', async (t) => {
  fuzzLoader(t, { seed: 4242, runs: 3000, sources: [LVS_CF_NAT, LVS_CF_DR], files: ['fuzz.cf'], load: (text) => validateTable(loadLvsCf(text, 'fuzz.cf'), 'fuzz.cf') });
});
