// keepalived.conf: the reference's example loads to the exact model; the grammar (comments,
// quoting, one-line blocks, includes through an injected reader), virtual_server_group
// expansion, checkers and their inherited timings, keepalived's defaults, warnings for what
// it would ignore, errors naming file:line, and fuzzed files raising only UVS_CONFIG.
import t from 'tap';
import { loadKeepalived, type KeepalivedOptions } from '../../src/config/keepalived.js';
import type { VirtualService } from '../../src/config/model.js';
import { validateTable } from '../../src/config/validate.js';
import { KEEPALIVED_NAT } from './fixtures/examples.js';
import { fuzzLoader, mutate } from './fixtures/mutate.js';

const base = { schedFlags: [], onePacket: false, pe: '' };
const vs = (body: string, head = '10.0.0.100 80'): string => `virtual_server ${head} {\n protocol TCP\n lvs_method NAT\n${body}\n}\n`;
const services = (text: string, opts?: KeepalivedOptions): VirtualService[] => loadKeepalived(text, 'k.conf', opts).table.services;

t.test('the two-director NAT example (keepalived.md 9) loads to the exact model', async (t) => {
  const { table, warnings } = loadKeepalived(KEEPALIVED_NAT, 'k.conf');
  t.strictSame(warnings, []);
  t.strictSame(table, {
    services: [
      {
        protocol: 'tcp', address: '203.0.113.100', port: 80, fwmark: 0, family: 4, scheduler: 'wlc', persistent: 300, netmask: '255.255.255.0', ...base,
        servers: [
          {
            address: '192.168.10.11', port: 8080, method: 'nat', weight: 1, upper: 0, lower: 0, quiesce: true, origin: 'k.conf:61',
            health: { kind: 'http', checker: 'HTTP_GET', interval: 6, timeout: 3, retries: 3, riseCount: 1, path: '/health', status: 200, extra: { delay_before_retry: '2' } },
          },
          {
            address: '192.168.10.12', port: 8080, method: 'nat', weight: 2, upper: 0, lower: 0, origin: 'k.conf:74',
            health: { kind: 'tcp', checker: 'TCP_CHECK', interval: 6, timeout: 3, retries: 2, riseCount: 1, extra: { delay_before_retry: '1' } },
          },
        ],
        quiesce: false,
        sorryServer: { address: '192.168.10.50', port: 8080 },
        health: { kind: 'none', extra: { quorum: '1', hysteresis: '0' } },
        origin: 'k.conf:50',
      },
      {
        protocol: 'udp', address: '203.0.113.100', port: 53, fwmark: 0, family: 4, scheduler: 'rr', persistent: 0, netmask: '255.255.255.255', ...base,
        servers: [
          {
            address: '192.168.10.21', port: 53, method: 'nat', weight: 1, upper: 0, lower: 0, origin: 'k.conf:87',
            health: { kind: 'external', checker: 'MISC_CHECK', interval: 5, timeout: 3, retries: 1, riseCount: 1, program: '/usr/local/sbin/check_dns 192.168.10.21', extra: { delay_before_retry: '1' } },
          },
        ],
        quiesce: false,
        origin: 'k.conf:82',
      },
    ],
    timeouts: { tcp: 900, tcpfin: 120, udp: 300 },
    director: {
      owned: ['203.0.113.100', '192.168.10.254'],
      floating: [
        { address: '203.0.113.100', netmask: '255.255.255.0', device: 'eth0', label: 'eth0:1', instance: 'VI_PUBLIC', origin: 'k.conf:35' },
        { address: '192.168.10.254', netmask: '255.255.255.0', device: 'eth1', label: 'eth1:1', instance: 'VI_NATGW', origin: 'k.conf:46' },
      ],
      interfaces: ['eth0', 'eth1'],
      ha: {
        'global_defs.router_id': 'lb-a',
        'global_defs.lvs_sync_daemon': 'eth2 VI_PUBLIC id 7',
        'global_defs.vrrp_garp_master_repeat': '5',
        'global_defs.vrrp_garp_master_delay': '5',
        'vrrp_script chk_uplink.script': '/usr/local/sbin/ping_gw.sh',
        'vrrp_script chk_uplink.interval': '2',
        'vrrp_script chk_uplink.fall': '3',
        'vrrp_script chk_uplink.rise': '2',
        'vrrp_sync_group LB.group': 'VI_PUBLIC\nVI_NATGW',
        'vrrp_sync_group LB.notify_master': '/usr/local/sbin/lb-state master',
        'vrrp_sync_group LB.notify_backup': '/usr/local/sbin/lb-state backup',
        'vrrp_instance VI_PUBLIC.state': 'MASTER',
        'vrrp_instance VI_PUBLIC.interface': 'eth0',
        'vrrp_instance VI_PUBLIC.virtual_router_id': '51',
        'vrrp_instance VI_PUBLIC.priority': '150',
        'vrrp_instance VI_PUBLIC.advert_int': '1',
        'vrrp_instance VI_PUBLIC.track_script': 'chk_uplink',
        'vrrp_instance VI_NATGW.state': 'MASTER',
        'vrrp_instance VI_NATGW.interface': 'eth1',
        'vrrp_instance VI_NATGW.virtual_router_id': '52',
        'vrrp_instance VI_NATGW.priority': '150',
        'vrrp_instance VI_NATGW.advert_int': '1',
      },
    },
  });
  t.doesNotThrow(() => validateTable(table, 'k.conf'));
});

t.test('grammar: comments, quoting, one-line blocks', async (t) => {
  const [s] = services(
    'virtual_server 10.0.0.100 80 { # the web\n protocol TCP ! TCP it is\n lb_kind NAT\n lb_algo "rr"\n real_server 10.0.1.1 8080 {\n  weight 3\n  MISC_CHECK { misc_path "/bin/check #1 !x" } }\n}\n',
  );
  t.equal(s!.scheduler, 'rr', 'quoted value, lb_algo alias');
  t.equal(s!.servers[0]!.weight, 3);
  t.equal(s!.servers[0]!.health!.program, '/bin/check #1 !x', 'comment characters inside quotes are text');
});

t.test('include: relative to the including file, globs, depth bound, unreadable files', async (t) => {
  const files: Record<string, string> = {
    '/etc/keepalived/conf.d/web.conf': vs(' real_server 10.0.1.1 80 { weight 2 }'),
    '/etc/keepalived/conf.d/dns.conf': 'virtual_server 10.0.0.100 53 {\n protocol UDP\n lvs_method NAT\n include servers/ns.conf\n}\n',
    '/etc/keepalived/conf.d/servers/ns.conf': 'real_server 10.0.1.5 53 {\n weight 7\n}\n',
    '/etc/keepalived/loop.conf': 'include loop.conf\n',
  };
  const opts: KeepalivedOptions = {
    readFile: (p) => {
      if (!(p in files)) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
      return files[p]!;
    },
    listDir: (d) => Object.keys(files).filter((p) => p.startsWith(`${d}/`) && !p.slice(d.length + 1).includes('/')).map((p) => p.slice(d.length + 1)),
  };
  const loaded = loadKeepalived('include conf.d/*.conf\n', '/etc/keepalived/keepalived.conf', opts);
  t.strictSame(loaded.table.services.map((s) => [s.port, s.servers.map((d) => [d.address, d.weight, d.origin])]), [
    [53, [['10.0.1.5', 7, '/etc/keepalived/conf.d/servers/ns.conf:1']]],
    [80, [['10.0.1.1', 2, '/etc/keepalived/conf.d/web.conf:4']]],
  ], 'glob matches in name order; nested include inside a block; origins name the included file');
  t.throws(() => loadKeepalived('include loop.conf\n', '/etc/keepalived/keepalived.conf', opts), { code: 'UVS_CONFIG', message: /^\/etc\/keepalived\/loop\.conf:1: include: includes nest deeper than 8 \(an include cycle\?\)/ });
  t.throws(() => loadKeepalived('\ninclude missing.conf\n', '/etc/keepalived/keepalived.conf', opts), { code: 'UVS_CONFIG', message: /^\/etc\/keepalived\/keepalived\.conf:2: include: cannot read \/etc\/keepalived\/missing\.conf: ENOENT/ });
  t.strictSame(loadKeepalived('include none/*.conf\n', '/etc/keepalived/keepalived.conf', opts).warnings, ['/etc/keepalived/keepalived.conf:1: include: no file matches "none/*.conf"']);
  t.throws(() => loadKeepalived('include\n', 'k.conf', opts), { message: /^k\.conf:1: include: expected one file name/ });
});

t.test('virtual_server_group: addresses, ranges, CIDR and marks expand to one service each', async (t) => {
  const text = `virtual_server group WEB {\n lvs_sched rr\n protocol TCP\n lvs_method DR\n real_server 10.0.1.1 { weight 2 }\n}\nvirtual_server_group WEB {\n 192.168.200.10 80\n 192.168.200.20-22 80 # range\n 192.168.201.0/30 8080\n fwmark 7\n 2001:db8::a-c 443\n}\n`;
  const { table, warnings } = loadKeepalived(text, 'g.conf');
  const key = (s: VirtualService): string => (s.fwmark ? `FWM ${s.fwmark}` : s.family === 6 ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`);
  t.strictSame(table.services.map(key), [
    ...['10', '20', '21', '22'].map((last) => `192.168.200.${last}:80`),
    ...['0', '1', '2', '3'].map((last) => `192.168.201.${last}:8080`),
    'FWM 7',
    ...['a', 'b', 'c'].map((last) => `[2001:db8::${last}]:443`),
  ], 'each member a service; the group may come after its user');
  t.ok(table.services.every((s) => s.name === 'WEB' && s.servers.length === 1 && s.servers[0]!.address === '10.0.1.1'), 'every member has the servers');
  t.strictSame(table.services.map((s) => s.servers[0]!.port), [80, 80, 80, 80, 8080, 8080, 8080, 8080, 0, 443, 443, 443], "DR servers take each member's port (a mark's: the packet's)");
  t.match(warnings, [/g\.conf:1: protocol is ignored for a fwmark service \(FWM 7\)/]);
  t.throws(() => loadKeepalived('virtual_server group NOPE {\n}\n', 'g.conf'), { message: /^g\.conf:1: virtual_server group NOPE: no virtual_server_group "NOPE" is defined/ });
  t.throws(() => loadKeepalived('virtual_server_group A {\n 10.0.0.1-300 80\n}\n', 'g.conf'), { message: /^g\.conf:2: virtual_server_group: range 10\.0\.0\.1-300 ends before it starts or past the last octet/ });
  t.throws(() => loadKeepalived('virtual_server_group A {\n 10.0.0.0/16 80\n}\n', 'g.conf'), { message: /^g\.conf:2: virtual_server_group: 10\.0\.0\.0\/16 has 65536 addresses \(at most 256\)/ });
  t.throws(() => loadKeepalived('virtual_server_group A {\n}\nvirtual_server_group A {\n}\n', 'g.conf'), { message: /^g\.conf:3: virtual_server_group A: defined twice \(first at g\.conf:1\)/ });
});

t.test('virtual_server keywords and keepalived defaults', async (t) => {
  const [s] = services(vs(' persistence_timeout\n persistence_engine sip\n lvs_sched sh\n sh-port\n sh-fallback off\n ops\n sorry_server 10.0.1.99\n inhibit_on_failure\n weight 4\n real_server 10.0.1.1 80 {\n  uthreshold 100\n  lthreshold 10\n }', '10.0.0.100 53'));
  t.strictSame([s!.persistent, s!.pe, s!.schedFlags, s!.onePacket, s!.sorryServer, s!.quiesce, s!.servers[0]!.weight, s!.servers[0]!.upper, s!.servers[0]!.lower], [360, 'sip', ['sh-port'], true, { address: '10.0.1.99', port: 53 }, true, 4, 100, 10]);
  t.equal(services(vs(' persistence_granularity 255.255.255.0'))[0]!.persistent, 360, 'a granularity alone makes it persistent');
  t.equal(services(vs('', '10.0.0.100'))[0]!.persistent, 360, 'no port: persistent (wildcard port service)');
  t.equal(services(vs(' persistence_granularity 64', '2001:db8::1 80'))[0]!.netmask, '64', 'IPv6 granularity is a prefix length');
  const [tun] = services(vs(' real_server 10.0.1.1 80 {\n  lvs_method TUN type gue port 6080 csum\n }'));
  t.strictSame([tun!.servers[0]!.method, tun!.servers[0]!.tunType, tun!.servers[0]!.tunPort, tun!.servers[0]!.tunCsum], ['tun', 'gue', 6080, 'csum']);
  const [fw] = services('virtual_server fwmark 5 {\n ip_family inet6\n lvs_method DR\n real_server 2001:db8::5 {\n }\n}\n');
  t.strictSame([fw!.family, fw!.netmask, fw!.address, fw!.servers[0]!.port], [6, '128', '', 0]);

  const defaults = loadKeepalived('virtual_server 10.0.0.100 80 {\n real_server 10.0.1.1 80 {\n }\n}\n', 'd.conf');
  t.strictSame([defaults.table.services[0]!.protocol, defaults.table.services[0]!.scheduler, defaults.table.services[0]!.servers[0]!.method], ['udp', 'wlc', 'nat'], "keepalived's current defaults");
  t.strictSame(defaults.warnings, ['d.conf:1: virtual_server without protocol: keepalived uses UDP (write protocol TCP for TCP)', 'd.conf:1: virtual_server without lvs_method: keepalived uses NAT']);

  const dr = loadKeepalived('virtual_server 10.0.0.100 80 {\n protocol TCP\n lvs_method DR\n real_server 10.0.1.1 8080 {\n  TCP_CHECK {\n  }\n }\n}\n', 'p.conf');
  t.strictSame([dr.table.services[0]!.servers[0]!.port, dr.table.services[0]!.servers[0]!.health!.port], [80, 8080], 'DR keeps the virtual port; the check probes the written one');
  t.strictSame(dr.warnings, ['p.conf:4: TCP 10.0.0.100:80: dr keeps the virtual port 80; real_server port 8080 is used for health checks only']);

  const odd = loadKeepalived(vs(' frobnicate 1\n real_server 10.0.1.1 80 {\n  wobble\n  TCP_CHECK {\n   zap 2\n  }\n }'), 'u.conf');
  t.strictSame(odd.warnings, ['u.conf:4: unknown keyword "frobnicate" in virtual_server (ignored)', 'u.conf:6: unknown keyword "wobble" in real_server (ignored)', 'u.conf:8: unknown keyword "zap" in TCP_CHECK (ignored)']);
  t.strictSame(loadKeepalived('bogus_top {\n x\n}\nstatic_ipaddress {\n 10.1.1.1/24 dev eth0\n}\n', 't.conf').warnings, ['t.conf:1: unknown keyword "bogus_top" in the top level (ignored)']);
});

t.test('checkers: timings inherited, several checkers and urls, the rest stored', async (t) => {
  const [s] = services(
    vs(` delay_loop 10\n connect_timeout 4\n alpha\n quorum 2\n real_server 10.0.1.1 80 {
  retry 5
  notify_down "/bin/alert down"
  HTTP_GET {
   url {
    path /a
    status_code 200-299 301
    digest 9B3A0C85A887A256D6939DA88AABD8CD
   }
   url {
    path /b
    regex "OK|ready"
    virtualhost b.example
   }
   delay_loop 2.5
   http_protocol 1.1
  }
  SSL_GET {
   url { path /s }
   enable_sni
  }
  MISC_CHECK {
   misc_path "/bin/x %h"
   misc_dynamic
  }
  SMTP_CHECK { helo_name me.example }
  DNS_CHECK {
   type A
   name example.org
  }
  PING_CHECK { }
 }`),
  );
  const d = s!.servers[0]!;
  t.strictSame(s!.health, { kind: 'none', extra: { quorum: '2' } }, 'virtual_server machinery stored on the service');
  t.strictSame(d.health, { kind: 'http', checker: 'HTTP_GET', interval: 2.5, timeout: 4, retries: 6, riseCount: 1, path: '/a', digest: '9b3a0c85a887a256d6939da88aabd8cd', extra: { notify_down: '/bin/alert down', delay_before_retry: '3', alpha: 'true', http_protocol: '1.1', status_code: '200-299 301' } });
  t.strictSame(d.additionalHealth!.map((h) => [h.kind, h.checker, h.path ?? h.program ?? null, h.interval, h.timeout, h.retries]), [
    ['http', 'HTTP_GET', '/b', 2.5, 4, 6],
    ['https', 'SSL_GET', '/s', 10, 4, 6],
    ['external', 'MISC_CHECK', '/bin/x %h', 10, 10, 6],
    ['tcp', 'SMTP_CHECK', null, 10, 4, 6],
    ['none', 'DNS_CHECK', null, 10, 4, 6],
    ['icmp', 'PING_CHECK', null, 10, 4, 6],
  ]);
  t.strictSame([d.additionalHealth![0]!.expect, d.additionalHealth![0]!.regex, d.additionalHealth![0]!.extra!.virtualhost], ['OK|ready', true, 'b.example']);
  t.strictSame(d.additionalHealth![4]!.extra, { delay_before_retry: '10', alpha: 'true', type: 'A', name: 'example.org' }, 'DNS_CHECK waits delay_loop between retries; alpha inherited');
});

t.test('malformed syntax is an error naming file:line and what was expected', async (t) => {
  const bad: [string, string, RegExp][] = [
    ['unclosed block', 'virtual_server 10.0.0.1 80 {\n protocol TCP\n', /^b\.conf:1: unexpected end of file in b\.conf: the block "virtual_server 10\.0\.0\.1 80" opened here is not closed/],
    ['stray brace', 'global_defs {\n}\n}\n', /^b\.conf:3: unexpected }: no block is open/],
    ['brace alone', '{\n}\n', /^b\.conf:1: unexpected \{: a block opens after its keyword/],
    ['no block', 'virtual_server 10.0.0.1 80\n', /^b\.conf:1: virtual_server: expected a block \(\{ on the same line\)/],
    ['missing value', vs(' lvs_sched'), /^b\.conf:4: lvs_sched: missing value \(expected a scheduler name\)/],
    ['bad weight', vs(' real_server 10.0.1.1 80 {\n  weight heavy\n }'), /^b\.conf:5: weight: integer expected, got "heavy"/],
    ['huge weight', vs(' real_server 10.0.1.1 80 {\n  weight 99999999999999999999\n }'), /^b\.conf:5: weight: integer expected/],
    ['weight range', vs(' real_server 10.0.1.1 80 {\n  weight 70000\n }'), /^b\.conf:5: weight: expected an integer 0\.\.65535, got 70000/],
    ['bad address', 'virtual_server 10.0.0.300 80 {\n}\n', /^b\.conf:1: virtual_server: expected an IPv4 \(a\.b\.c\.d\) or IPv6 address, got "10\.0\.0\.300"/],
    ['bad port', 'virtual_server 10.0.0.1 http {\n}\n', /^b\.conf:1: virtual_server port: integer expected, got "http"/],
    ['port range', vs(' real_server 10.0.1.1 65536 {\n }'), /^b\.conf:4: real_server port: expected an integer 0\.\.65535, got 65536/],
    ['bad method', vs(' lvs_method FAST'), /^b\.conf:4: lvs_method: expected NAT, DR or TUN, got "FAST"/],
    ['bad protocol', 'virtual_server 10.0.0.1 80 {\n protocol ICMP\n}\n', /^b\.conf:2: protocol: expected TCP, UDP or SCTP, got "ICMP"/],
    ['bad timer', vs(' delay_loop soon'), /^b\.conf:4: delay_loop: expected seconds \(e\.g\. 5 or 2\.5\), got "soon"/],
    ['bad bool', vs(' inhibit_on_failure maybe'), /^b\.conf:4: inhibit_on_failure: expected on\/off, true\/false or yes\/no, got "maybe"/],
    ['bad mask', vs(' persistence_granularity 255.0.255.0'), /^b\.conf:4: persistence_granularity: netmask 255\.0\.255\.0 is not contiguous/],
    ['quote', vs(' lvs_sched "rr'), /^b\.conf:4: quotation mismatch/],
    ['misc without path', vs(' real_server 10.0.1.1 80 {\n  MISC_CHECK {\n  }\n }'), /^b\.conf:5: MISC_CHECK: missing misc_path/],
    ['digest', vs(' real_server 10.0.1.1 80 {\n  HTTP_GET { url { digest xyz } }\n }'), /^b\.conf:5: digest: expected 32 hex digits/],
    ['status', vs(' real_server 10.0.1.1 80 {\n  HTTP_GET { url { status_code ok } }\n }'), /^b\.conf:5: status_code: expected a status code 100\.\.599/],
    ['vip', 'vrrp_instance V {\n interface eth0\n virtual_ipaddress {\n  10.0.0.1/33\n }\n}\n', /^b\.conf:4: virtual_ipaddress prefix length: expected an integer 0\.\.32, got 33/],
    ['vip dev', 'vrrp_instance V {\n virtual_ipaddress {\n  10.0.0.1 dev\n }\n}\n', /^b\.conf:3: virtual_ipaddress: missing value after dev/],
    ['lvs_timeouts', 'global_defs {\n lvs_timeouts tcp 10 fin 5\n}\n', /^b\.conf:2: lvs_timeouts: expected tcp, tcpfin or udp, got "fin"/],
    ['nesting', `${'a {\n'.repeat(40)}${'}\n'.repeat(40)}`, /^b\.conf:33: blocks nested deeper than 32/],
  ];
  for (const [what, text, re] of bad) t.throws(() => loadKeepalived(text, 'b.conf'), { name: 'UvsError', code: 'UVS_CONFIG', message: re }, what);
});

t.test('fuzz: mutated keepalived.conf files load (maybe with warnings) or raise UVS_CONFIG naming file:line', async (t) => {
  const included = vs(' real_server 10.0.1.1 8080 {\n  weight 2\n  TCP_CHECK { connect_timeout 3 }\n }');
  const source = `${KEEPALIVED_NAT}\ninclude inc.conf\nvirtual_server_group G {\n 10.9.0.1-3 80\n fwmark 9\n}\nvirtual_server group G {\n protocol TCP\n lvs_method DR\n real_server 10.9.1.1 { weight 1 }\n}\n`;
  const load = (text: string, random: () => number): void => {
    // The included file is mutated too; any other name is missing.
    const readFile = (p: string): string => {
      if (p !== 'inc.conf') throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      return mutate(included, random);
    };
    validateTable(loadKeepalived(text, 'fuzz.conf', { readFile, listDir: () => ['inc.conf'] }).table, 'fuzz.conf');
  };
  fuzzLoader(t, { seed: 777, runs: 3000, sources: [source], files: ['fuzz.conf', 'inc.conf'], load });
});
