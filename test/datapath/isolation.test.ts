// Kernel isolation (src/datapath/isolation.ts) against the real kernel, in a lab's dir1
// namespace made as hostile as it gets: the VIP is a local address (on lo), the NAT router
// address is assigned to priv0, and forwarding is on. Every "after" has its "before"
// (control) so the test can fail: the kernel answers/forwards without isolation, and does
// not with it, while uvs's packet sockets (here: captures, which tap at the same place as
// uvs's AF_PACKET rings) still see every frame.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { buildLab, labDown, type Lab } from '../../src/lab/index.js';
import { startCapture, type Capture, type CapturedPacket } from '../../src/lab/capture.js';
import { sh, uniquePrefix } from '../../src/lab/testing.js';
import { buildFrame, type FrameDesc } from '../../src/packet/builder.js';
import {
  KernelIsolation,
  NftError,
  nftExec,
  renderIsolation,
  type IsolationRules,
  type NftExec,
} from '../../src/datapath/isolation.js';

t.setTimeout(240_000);

const prefix = uniquePrefix('iso');
let lab: Lab;
let dir1: string;
const VIP = '198.18.0.100';
const VIP6 = 'fd00:18::100';
const VIP_NONLOCAL = '198.18.0.101'; // a VIP uvs owns without the kernel having it
const ROUTER = '198.19.0.254';
const ROUTER6 = 'fd00:19::254';
const SSH_LIKE = 2222;

const RULES: IsolationRules = {
  services: [
    { protocol: 'tcp', vip: VIP, port: 80 },
    { protocol: 'udp', vip: VIP, port: 9000 },
    { protocol: 'tcp', vip: VIP6, port: 80 },
    { protocol: 'tcp', vip: VIP_NONLOCAL, port: 80 },
  ],
  realServers: [
    { protocol: 'tcp', address: '198.19.0.11', port: 80 },
    { protocol: 'udp', address: '198.19.0.11', port: 7 },
    { protocol: 'udp', address: 'fd00:19::11', port: 7 },
  ],
  natRouterAddresses: [ROUTER, ROUTER6],
};

t.before(async () => {
  lab = await buildLab({ prefix, servers: 1, mode: 'nat' });
  dir1 = lab.ns('dir1');
  const d = lab.description;
  // The kernel owns the VIPs and the NAT router addresses, and forwards: the worst case.
  await lab.ip('dir1', ['addr', 'add', `${VIP}/32`, 'dev', 'lo']);
  await lab.ip('dir1', ['addr', 'add', `${VIP6}/128`, 'dev', 'lo']);
  await lab.ip('dir1', ['addr', 'add', `${ROUTER}/24`, 'dev', 'priv0']);
  await lab.ip('dir1', ['addr', 'add', `${ROUTER6}/64`, 'dev', 'priv0', 'nodad']);
  await lab.setForwarding('dir1', true);
  // uvs would answer ARP for a VIP it owns without the kernel: the client's neighbour entry
  // stands in. Linux answers neighbour solicitations only for addresses of the receiving
  // interface (not lo), so the IPv6 VIP gets one too.
  await lab.ip('client', ['neigh', 'replace', VIP_NONLOCAL, 'lladdr', d.directors[0]!.public.mac, 'dev', 'eth0', 'nud', 'permanent']);
  await lab.ip('client', ['-6', 'neigh', 'replace', VIP6, 'lladdr', d.directors[0]!.public.mac, 'dev', 'eth0', 'nud', 'permanent']);
  // An ssh-like service of the director itself, on every address.
  const srv = lab.spawn(
    'dir1',
    [process.execPath, '-e', `require('net').createServer((s) => s.end('dir1\\n')).listen(${SSH_LIKE}, '::', () => require('fs').writeSync(3, 'ready\\n'))`],
    { name: 'sshlike', readyFd: true },
  );
  await srv.ready;
});
t.teardown(async () => {
  await lab?.down().catch(() => {});
  await labDown(prefix).catch(() => {});
});

// --- helpers --------------------------------------------------------------------------------

const tcp = (host: string, port: number, timeoutMs = 800, ns = 'client') => lab.probe(ns, { proto: 'tcp', host, port, send: 'x', timeoutMs });
const udp = (host: string, port: number, timeoutMs = 800, ns = 'client') => lab.probe(ns, { proto: 'udp', host, port, send: 'x', timeoutMs });

/** /proc/net/snmp (or snmp6) counters of a namespace, e.g. snmp('dir1').Icmp.InDestUnreachs. */
async function snmp(ns: string): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  const lines = (await lab.exec(ns, ['cat', '/proc/net/snmp'])).trim().split('\n');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const [k, ...names] = lines[i]!.split(/\s+/);
    const vals = lines[i + 1]!.split(/\s+/).slice(1).map(Number);
    out[k!.replace(':', '')] = Object.fromEntries(names.map((n, j) => [n, vals[j]!]));
  }
  const six: Record<string, number> = {};
  for (const l of (await lab.exec(ns, ['cat', '/proc/net/snmp6'])).trim().split('\n')) {
    const [k, v] = l.split(/\s+/);
    six[k!] = Number(v);
  }
  out.six = six;
  return out;
}

function frame(d: FrameDesc): Uint8Array {
  return buildFrame(d);
}

async function withCapture<T>(ns: string, iface: string, filter: string, fn: (c: Capture) => Promise<T>): Promise<{ result: T; packets: CapturedPacket[] }> {
  const c = startCapture(lab, ns, { iface, filter, max: 500, seconds: 30 });
  try {
    await c.ready;
    const result = await fn(c);
    await c.waitFor(() => false, 200); // late packets
    return { result, packets: await c.stop() };
  } finally {
    await c.stop();
  }
}

/** The table without counter values (-s: stateless), so traffic in between does not change it. */
const listTable = (table = 'uvs') => lab.exec('dir1', ['nft', '-s', 'list', 'table', 'inet', table]);
const listTables = () => lab.exec('dir1', ['nft', 'list', 'tables']);

// --- pure: validation and rendering (no kernel) ---------------------------------------------

t.test('render: validation, normalization, one line per element', async (t) => {
  const r = renderIsolation({
    services: [
      { protocol: 'tcp', vip: VIP, port: 80 },
      { protocol: 'tcp', vip: VIP, port: 80 },
      { protocol: 'udp', vip: '::ffff:198.18.0.100', port: 0 },
      { protocol: 'sctp', vip: 'FD00:18:0::100', port: 5000 },
    ],
    natRouterAddresses: [ROUTER, ROUTER],
    interfaces: ['pub0', 'priv0'],
  });
  t.same(r.normalized.services, [
    { protocol: 'tcp', vip: VIP, port: 80 },
    { protocol: 'udp', vip: VIP, port: 0 },
    { protocol: 'sctp', vip: VIP6, port: 5000 },
  ], 'duplicates removed, IPv4-mapped IPv6 is IPv4, IPv6 in canonical form');
  t.same(r.normalized.natRouterAddresses, [ROUTER]);
  t.ok(r.lines.includes(`add element inet uvs svcall4 { ${VIP} . udp }`), 'port 0 = every port (own set)');
  t.ok(r.lines.includes('add element inet uvs svcicmp4 { 0xc6120064 . 0x06 . 0x0050 }'), 'ICMP-quote key: VIP, protocol, port in network order');
  t.ok(r.lines.some((l) => l.includes('iifname != { "pub0", "priv0" } return')), 'interfaces restrict the scope');
  t.equal(r.lines.length, r.origins.length);
  const el = r.lines.findIndex((l) => l.includes('svc6'));
  t.match(r.origins[r.lines.findIndex((l) => l.startsWith('add element inet uvs svc6'))], /services\[3\]: sctp \[fd00:18::100\]:5000/);
  t.ok(el >= 0);
  t.ok(r.lines.some((l) => /prerouting \{ type filter hook prerouting priority -310; policy accept; \}/.test(l)), 'prerouting at -310');

  const badRules: [IsolationRules, RegExp][] = [
    [{ services: [{ protocol: 'tcp', vip: '300.1.1.1', port: 80 }] }, /services\[0\]\.vip: '300.1.1.1' is not/],
    [{ services: [{ protocol: 'tcp', vip: '127.1', port: 80 }] }, /not an IPv4 \(dotted quad\)/],
    [{ services: [{ protocol: 'tcp', vip: '127.0.0.1', port: 80 }] }, /loopback/],
    [{ services: [{ protocol: 'tcp', vip: '224.0.0.1', port: 80 }] }, /multicast/],
    [{ services: [{ protocol: 'tcp', vip: '0.0.0.0', port: 80 }] }, /unspecified/],
    [{ services: [{ protocol: 'tcp', vip: 'fe80::1%eth0', port: 80 }] }, /not an IPv4/],
    [{ services: [{ protocol: 'tcp', vip: VIP, port: 65536 }] }, /port must be an integer 0\.\.65535/],
    [{ services: [{ protocol: 'icmp' as 'tcp', vip: VIP, port: 1 }] }, /protocol must be one of tcp, udp, sctp/],
    [{ realServers: [{ protocol: 'tcp', address: '198.19.0.11', port: -1 }] }, /realServers\[0\]\.port/],
    [{ services: [{ protocol: 'tcp', vip: VIP, port: 80 }], natRouterAddresses: [VIP] }, /also a VIP/],
    [{ interfaces: ['bad name'] }, /interfaces\[0\]/],
    [{ bogus: 1 } as IsolationRules, /unknown rules field 'bogus'/],
  ];
  for (const [rules, msg] of badRules) t.throws(() => renderIsolation(rules), { code: 'UVS_ISOLATION_BAD_RULE', message: msg }, String(msg));
  t.throws(() => renderIsolation({}, { priority: -200 }), { code: 'UVS_ISOLATION_BAD_OPTION', message: /before conntrack/ });
  t.throws(() => renderIsolation({}, { table: 'a-b' }), { code: 'UVS_ISOLATION_BAD_OPTION' });
});

// --- the kernel without isolation (controls) ------------------------------------------------

let control: { icmpToVipCounted: number } = { icmpToVipCounted: 0 };

t.test('control: without isolation the kernel answers and forwards', async (t) => {
  const d = lab.description;
  const r = await tcp(VIP, 80);
  t.match(r.error, /ECONNREFUSED/, 'TCP to VIP:80 is refused: the kernel sends a RST');
  t.match((await tcp(VIP6, 80)).error, /ECONNREFUSED/, 'same over IPv6');

  // A NAT reply (src rs1:7): the client sends via the switch router, rs1 answers via its
  // gateway, the NAT router address on dir1, whose kernel forwards it un-rewritten.
  const { result, packets } = await withCapture('client', 'eth0', 'udp port 7', () => udp('198.19.0.11', 7));
  t.equal(result.ok, true, 'UDP reply from rs1:7 reaches the client');
  t.ok(
    packets.some((p) => p.dir === 'in' && p.src === '198.19.0.11' && p.sport === 7 && p.srcMac === d.directors[0]!.public.mac),
    'forwarded by the director kernel (source MAC: dir1 pub0)',
  );
  t.equal((await udp('fd00:19::11', 7)).ok, true, 'IPv6 NAT reply forwarded too');
  t.equal((await tcp(ROUTER, SSH_LIKE, 800, 'rs1')).ok, true, 'the NAT router address answers TCP (the kernel owns it)');

  // ICMP error to the VIP about a balanced connection: the kernel takes it in.
  const before = await snmp('dir1');
  await injectIcmpToVip(80);
  await new Promise((r) => setTimeout(r, 200));
  const after = await snmp('dir1');
  control.icmpToVipCounted = after.Icmp!.InDestUnreachs! - before.Icmp!.InDestUnreachs!;
  t.equal(control.icmpToVipCounted, 1, 'the kernel receives an ICMP error quoting VIP:80');

  // ICMP error from a real server about a balanced service: forwarded to the client.
  const fwd = await withCapture('client', 'eth0', 'icmp', async () => {
    await injectIcmpFromRs(7);
  });
  t.ok(fwd.packets.some((p) => p.icmpType === 3 && p.src === '198.19.0.11'), 'the kernel forwards the real server\'s ICMP error');

  // A VIP the kernel does not own, with forwarding on: forwarded back out of pub0, with an ICMP redirect.
  const fw0 = (await snmp('dir1')).Ip!.ForwDatagrams!;
  const redir = await withCapture('client', 'eth0', 'icmp', () => tcp(VIP_NONLOCAL, 80, 500));
  t.ok(redir.packets.some((p) => p.icmpType === 5 && p.src === d.directors[0]!.public.ipv4), 'ICMP redirect from the director');
  t.ok((await snmp('dir1')).Ip!.ForwDatagrams! > fw0, 'and the SYN was forwarded');
});

/** From the client: ICMP frag-needed to the VIP, quoting a VIP:sport → client TCP segment. */
async function injectIcmpToVip(sport: number): Promise<void> {
  const d = lab.description;
  const c = startCapture(lab, 'client', { iface: 'eth0', filter: 'ether proto 0x88b5', max: 1, seconds: 10 });
  await c.ready;
  c.inject(
    frame({
      eth: { src: d.client.eth0.mac, dst: d.directors[0]!.public.mac },
      ipv4: { src: d.client.eth0.ipv4, dst: VIP },
      icmp: { type: 3, code: 4, mtu: 1200, quote: { ipv4: { src: VIP, dst: d.client.eth0.ipv4, df: true }, tcp: { sport, dport: 40000, seq: 1000, flags: 0x18 } } },
    }),
  );
  await c.stop();
}

/** From the client: ICMPv6 packet-too-big to VIP6, quoting a [VIP6]:sport → client TCP segment. */
async function injectIcmp6ToVip(sport: number): Promise<void> {
  const d = lab.description;
  const c = startCapture(lab, 'client', { iface: 'eth0', filter: 'ether proto 0x88b5', max: 1, seconds: 10 });
  await c.ready;
  c.inject(
    frame({
      eth: { src: d.client.eth0.mac, dst: d.directors[0]!.public.mac },
      ipv6: { src: d.client.eth0.ipv6, dst: VIP6 },
      icmpv6: { type: 2, code: 0, mtu: 1280, quote: { ipv6: { src: VIP6, dst: d.client.eth0.ipv6 }, tcp: { sport, dport: 40000, seq: 1000, flags: 0x18 } } },
    }),
  );
  await c.stop();
}

/** From rs1, to its gateway's MAC: ICMP port-unreachable to the client, quoting client → rs1:dport UDP. */
async function injectIcmpFromRs(dport: number): Promise<void> {
  const d = lab.description;
  const c = startCapture(lab, 'rs1', { iface: 'eth0', filter: 'ether proto 0x88b5', max: 1, seconds: 10 });
  await c.ready;
  c.inject(
    frame({
      eth: { src: d.servers[0]!.eth0.mac, dst: d.directors[0]!.private.mac },
      ipv4: { src: d.servers[0]!.eth0.ipv4, dst: d.client.eth0.ipv4 },
      icmp: { type: 3, code: 3, quote: { ipv4: { src: d.client.eth0.ipv4, dst: d.servers[0]!.eth0.ipv4 }, udp: { sport: 40000, dport } }, quoteLen: 28 },
    }),
  );
  await c.stop();
}

// --- with isolation -------------------------------------------------------------------------

let iso: KernelIsolation;
/** The main handle runs nft through this hook, so tests can corrupt one transaction. */
let mangle: ((script: string) => string) | null = null;
let nftCalls = 0;

t.test('with isolation the kernel stays out of balanced traffic', async (t) => {
  const d = lab.description;
  const real = nftExec({ netns: dir1 });
  const exec: NftExec = (args, input) => {
    nftCalls++;
    return real(args, input !== undefined && mangle ? mangle(input) : input);
  };
  iso = await KernelIsolation.open({ table: 'uvs', netns: dir1, exec });
  const applied = await iso.apply(RULES);
  t.ok(applied.elements > 0);
  t.comment(`apply: ${applied.lines} lines, ${applied.elements} elements, ${applied.ms.toFixed(0)} ms`);

  // TCP to VIP:80: no RST, no SYN-ACK; yet the director's packet sockets see the SYN.
  const cli = startCapture(lab, 'client', { iface: 'eth0', filter: `host ${VIP} or host ${VIP6}`, max: 100, seconds: 30 });
  const atDir = startCapture(lab, 'dir1', { iface: 'pub0', filter: `tcp dst port 80`, max: 100, seconds: 30 });
  await Promise.all([cli.ready, atDir.ready]);
  const r4 = await tcp(VIP, 80);
  const r6 = await tcp(VIP6, 80);
  await cli.waitFor(() => false, 300);
  const seen = await cli.stop();
  const atDirPkts = await atDir.stop();
  t.match(r4.error, /timeout/, 'TCP to VIP:80 gets no answer');
  t.match(r6.error, /timeout/, 'TCP to [VIP6]:80 gets no answer');
  t.same(seen.filter((p) => p.dir === 'in'), [], 'client capture: nothing from the VIPs (no RST, no SYN-ACK)');
  t.ok(seen.some((p) => p.dir === 'out' && p.tcpFlags === 'S' && p.dst === VIP), 'the client did send its SYN');
  t.ok(atDirPkts.some((p) => p.tcpFlags === 'S' && p.dst === VIP), 'AF_PACKET on dir1 still sees the SYN to the VIP');
  t.ok(atDirPkts.some((p) => p.tcpFlags === 'S' && p.dst === VIP6), 'and the one to the IPv6 VIP');

  // NAT replies from the real server: not forwarded, but seen on priv0.
  const { result, packets } = await withCapture('client', 'eth0', 'udp port 7', () => udp('198.19.0.11', 7));
  t.match(result.error, /timeout/, 'UDP reply from rs1:7 no longer reaches the client');
  t.same(packets.filter((p) => p.dir === 'in'), [], 'client capture: no un-rewritten reply');
  t.match((await udp('fd00:19::11', 7)).error, /timeout/, 'nor the IPv6 one');
  const priv = await withCapture('dir1', 'priv0', 'udp and src port 7', () => udp('198.19.0.11', 7, 500));
  t.ok(priv.packets.some((p) => p.src === '198.19.0.11' && p.sport === 7), 'dir1 packet sockets still see the reply');

  const c = await iso.counters();
  t.ok(c.vip.packets >= 2, `counter vip: ${c.vip.packets}`);
  t.ok(c.realServer.packets >= 3, `counter rs: ${c.realServer.packets}`);

  // The NAT router address: not the kernel's to answer (TCP), but pings are.
  t.match((await tcp(ROUTER, SSH_LIKE, 800, 'rs1')).error, /timeout/, 'TCP to the NAT router address: dropped');
  t.ok((await iso.counters()).natRouter.packets >= 1);
  const pingRouter = await withCapture('rs1', 'eth0', 'icmp', async (cap) => {
    cap.inject(
      frame({
        eth: { src: d.servers[0]!.eth0.mac, dst: d.directors[0]!.private.mac },
        ipv4: { src: d.servers[0]!.eth0.ipv4, dst: ROUTER },
        icmp: { type: 8, id: 9, seq: 1 },
      }),
    );
    return cap.waitFor((p) => p.icmpType === 0, 2000);
  });
  t.ok(pingRouter.result, 'a ping to the NAT router address is answered by the kernel (kernelPing)');
});

t.test('with isolation, what is not balanced still reaches the kernel', async (t) => {
  const d = lab.description;
  const own = await tcp(d.directors[0]!.public.ipv4, SSH_LIKE);
  t.equal(own.ok, true, 'ssh-like port on dir1 own address works');
  t.equal(own.received, 'dir1\n');
  t.equal((await tcp(d.directors[0]!.public.ipv6, SSH_LIKE)).ok, true, 'and over IPv6');
  t.equal((await tcp(VIP, SSH_LIKE)).ok, true, 'a port of the local VIP that is not balanced is the kernel\'s (as with IPVS)');
  t.match((await tcp(VIP, 22)).error, /ECONNREFUSED/, 'including its RSTs');

  // Health-check-like traffic: dir1 itself to rs1:80. Replies from RIP:80 go to a local address.
  const hc = await lab.probe('dir1', { proto: 'http', host: '198.19.0.11', port: 80, timeoutMs: 2000 });
  t.equal(hc.ok, true, 'dir1 → rs1:80 (health check) works: replies to the director itself pass');
  t.equal(hc.server, 'rs1');

  // Pings (injected: the lab has no ping binary) of dir1's address and of the local VIP.
  for (const dst of [d.directors[0]!.public.ipv4, VIP]) {
    const p = await withCapture('client', 'eth0', 'icmp', async (cap) => {
      cap.inject(frame({ eth: { src: d.client.eth0.mac, dst: d.directors[0]!.public.mac }, ipv4: { src: d.client.eth0.ipv4, dst }, icmp: { type: 8, id: 7, seq: 1 } }));
      return cap.waitFor((x) => x.icmpType === 0 && x.src === dst, 2000);
    });
    t.ok(p.result, `ping ${dst} answered`);
  }
  const p6 = await withCapture('client', 'eth0', 'icmp6', async (cap) => {
    cap.inject(frame({ eth: { src: d.client.eth0.mac, dst: d.directors[0]!.public.mac }, ipv6: { src: d.client.eth0.ipv6, dst: VIP6 }, icmpv6: { type: 128, id: 7, seq: 1 } }));
    return cap.waitFor((x) => x.icmpType === 129 && x.src === VIP6, 2000);
  });
  t.ok(p6.result, 'ping6 of the local IPv6 VIP answered');
});

t.test('ICMP errors about balanced traffic are dropped, others are not (quoted-header match)', async (t) => {
  t.equal(control.icmpToVipCounted, 1, 'control ran');
  const c0 = await iso.counters();
  let s0 = await snmp('dir1');
  await injectIcmpToVip(80);
  await new Promise((r) => setTimeout(r, 200));
  let s1 = await snmp('dir1');
  t.equal(s1.Icmp!.InDestUnreachs! - s0.Icmp!.InDestUnreachs!, 0, 'frag-needed quoting VIP:80 (balanced) never reaches the kernel');
  s0 = s1;
  await injectIcmpToVip(SSH_LIKE);
  await new Promise((r) => setTimeout(r, 200));
  s1 = await snmp('dir1');
  t.equal(s1.Icmp!.InDestUnreachs! - s0.Icmp!.InDestUnreachs!, 1, 'frag-needed quoting VIP:2222 (not balanced) does');

  s0 = await snmp('dir1');
  await injectIcmp6ToVip(80);
  await new Promise((r) => setTimeout(r, 200));
  s1 = await snmp('dir1');
  t.equal(s1.six!.Icmp6InPktTooBigs! - s0.six!.Icmp6InPktTooBigs!, 0, 'ICMPv6 packet-too-big quoting [VIP6]:80 is dropped');
  s0 = s1;
  await injectIcmp6ToVip(SSH_LIKE);
  await new Promise((r) => setTimeout(r, 200));
  s1 = await snmp('dir1');
  t.equal(s1.six!.Icmp6InPktTooBigs! - s0.six!.Icmp6InPktTooBigs!, 1, 'and quoting [VIP6]:2222 is not');

  const fwd = await withCapture('client', 'eth0', 'icmp', async () => {
    await injectIcmpFromRs(7);
    await injectIcmpFromRs(5555);
  });
  const fromRs = fwd.packets.filter((p) => p.icmpType === 3 && p.src === '198.19.0.11');
  t.equal(fromRs.length, 1, 'of two ICMP errors from rs1, one is forwarded');
  t.ok(fromRs[0]!.hex.includes('15b3'), 'the one quoting port 5555 (not balanced)');
  const c1 = await iso.counters();
  t.equal(c1.vipIcmp.packets - c0.vipIcmp.packets, 2, 'counter vip_icmp');
  t.equal(c1.realServerIcmp.packets - c0.realServerIcmp.packets, 1, 'counter rs_icmp');
});

t.test('a VIP the kernel does not own is not forwarded, and no ICMP redirect is sent', async (t) => {
  const fw0 = (await snmp('dir1')).Ip!.ForwDatagrams!;
  const c0 = await iso.counters();
  const { packets } = await withCapture('client', 'eth0', 'icmp', () => tcp(VIP_NONLOCAL, 80, 500));
  t.same(packets.filter((p) => p.icmpType === 5), [], 'no ICMP redirect');
  t.equal((await snmp('dir1')).Ip!.ForwDatagrams!, fw0, 'nothing forwarded');
  t.ok((await iso.counters()).vipNonLocal.packets > c0.vipNonLocal.packets, 'counter vip_nonlocal');
});

t.test('updates are atomic, and a failed apply leaves the previous rules in force', async (t) => {
  const beforeList = await listTable();
  t.match(beforeList, /198\.18\.0\.100 \. tcp \. 80/);

  // 1. A failure nft detects at the end of the transaction, after the flushes and the new
  //    elements: the kernel must roll the whole transaction back.
  const rulesBefore = iso.rules;
  mangle = (script) => script + 'add element inet uvs svc4 { 198.18.0.100 . tcp . 99999 }\n';
  const err = await iso.apply({ services: [{ protocol: 'udp', vip: VIP, port: 53 }] }).then(
    () => null,
    (e: unknown) => e,
  );
  mangle = null;
  t.type(err, NftError);
  const ne = err as NftError;
  t.equal(ne.code, 'UVS_ISOLATION_NFT');
  t.match(ne.message, /nft rejected the transaction at line \d+ \(a line that is not in the script uvs rendered\): add element inet uvs svc4 \{ 198\.18\.0\.100 \. tcp \. 99999 \}: Service out of range; nothing of it was applied/);
  t.match(ne.nftMessage, /Service out of range/);
  t.equal(await listTable(), beforeList, 'the table is exactly as before');
  t.match((await tcp(VIP, 80)).error, /timeout/, 'VIP:80 still isolated');
  t.equal((await udp(VIP, 53, 500)).error?.includes('ECONNREFUSED'), true, 'and the failed rules (udp 53) never took effect');
  t.equal(iso.rules, rulesBefore, 'rules: still the previous ones');

  // 2. A failure on a line uvs wrote: the error names the service behind that line.
  mangle = (script) => script.replace(`${VIP} . udp . 9000`, `${VIP} . udp . 90000`);
  const e2 = (await iso.apply(RULES).then(
    () => null,
    (e: unknown) => e,
  )) as NftError;
  mangle = null;
  t.type(e2, NftError);
  t.equal(e2.code, 'UVS_ISOLATION_NFT');
  t.ok(typeof e2.line === 'number' && e2.line > 10, `line ${e2.line}`);
  t.equal(e2.origin, 'services[1]: udp 198.18.0.100:9000 (set svc4)', 'the line is traced back to the service');
  t.match(e2.message, /at line \d+ \(services\[1\]: udp 198\.18\.0\.100:9000 \(set svc4\)\): 198\.18\.0\.100 \. udp \. 90000,: Service out of range/);
  t.equal(await listTable(), beforeList, 'unchanged again');

  // 3. Validation errors never reach nft.
  nftCalls = 0;
  await t.rejects(async () => iso.apply({ services: [{ protocol: 'tcp', vip: '1.2.3', port: 80 }] }), { code: 'UVS_ISOLATION_BAD_RULE' });
  t.equal(nftCalls, 0, 'nft not run');

  // 4. A successful update takes effect at once, with no window: port 80 → 8080.
  const moved = { ...RULES, services: [{ protocol: 'tcp' as const, vip: VIP, port: 8080 }] };
  await iso.apply(moved);
  t.match((await tcp(VIP, 80)).error, /ECONNREFUSED/, 'VIP:80 is the kernel\'s again');
  t.match((await tcp(VIP, 8080)).error, /timeout/, 'VIP:8080 is isolated');
  t.same(iso.rules!.services, moved.services);
  // Port 0: every port of the VIP.
  await iso.apply({ ...RULES, services: [{ protocol: 'tcp', vip: VIP, port: 0 }] });
  t.match((await tcp(VIP, 22)).error, /timeout/, 'port 0 isolates every TCP port of the VIP');
  t.equal((await udp(VIP, 9000, 500)).error?.includes('ECONNREFUSED') ?? false, true, 'but not UDP (the kernel answers with port unreachable)');
  await iso.apply(RULES);
});

t.test('options: interfaces, kernelPing; concurrent applies land in call order', async (t) => {
  const d = lab.description;
  // Only priv0 is isolated: the SYN to VIP:80 arrives on pub0, so the kernel answers it.
  await iso.apply({ ...RULES, interfaces: ['priv0'] });
  t.match((await tcp(VIP, 80)).error, /ECONNREFUSED/, 'pub0 not in interfaces: the kernel handles VIP:80');
  t.match((await udp('198.19.0.11', 7)).error, /timeout/, 'priv0 is: real-server replies are still dropped');
  await iso.apply({ ...RULES, interfaces: ['pub0', 'priv0'] });
  t.match((await tcp(VIP, 80)).error, /timeout/, 'both listed: isolated');

  // kernelPing false: echo requests to the VIP are dropped too.
  await iso.apply({ ...RULES, kernelPing: false });
  const ping = await withCapture('client', 'eth0', 'icmp', async (cap) => {
    cap.inject(frame({ eth: { src: d.client.eth0.mac, dst: d.directors[0]!.public.mac }, ipv4: { src: d.client.eth0.ipv4, dst: VIP }, icmp: { type: 8, id: 8, seq: 1 } }));
    return cap.waitFor((x) => x.icmpType === 0, 1000);
  });
  t.equal(ping.result, null, 'no echo reply from the VIP');
  t.ok((await iso.counters()).ping.packets >= 1, 'counter ping');

  // Calls are serialized: the last one called wins.
  const a = iso.apply({ ...RULES, services: [{ protocol: 'tcp', vip: VIP, port: 1 }] });
  const b = iso.apply(RULES);
  await Promise.all([a, b]);
  t.same(iso.rules!.services, RULES.services);
  t.match((await tcp(VIP, 80)).error, /timeout/);
});

t.test('many services: one transaction, one lookup', async (t) => {
  const services = [];
  for (let i = 0; i < 5000; i++) services.push({ protocol: 'tcp' as const, vip: `10.1.${i >> 8}.${i & 255}`, port: 80 + (i % 7) });
  const r = await iso.apply({ ...RULES, services: [...RULES.services!, ...services] });
  t.comment(`5004 services: ${r.lines} lines, ${r.elements} elements, ${r.ms.toFixed(0)} ms`);
  t.ok(r.ms < 20_000);
  t.match((await tcp(VIP, 80)).error, /timeout/, 'still isolated');
  await iso.apply(RULES);
});

t.test('a restart after a crash (table left behind) starts clean; close() removes the table', async (t) => {
  // A director process inside dir1 opens its own table, applies rules, and is SIGKILLed.
  const mod = fileURLToPath(new URL('../../src/datapath/isolation.js', import.meta.url));
  const victim = lab.spawn(
    'dir1',
    [
      process.execPath,
      '--input-type=module',
      '-e',
      `const { KernelIsolation } = await import(${JSON.stringify(mod)});
       const iso = await KernelIsolation.open({ table: 'uvs_crash' });
       await iso.apply({ services: [{ protocol: 'tcp', vip: '${VIP}', port: 443 }] });
       (await import('node:fs')).writeSync(3, 'ready\\n');
       setInterval(() => {}, 1000);`,
    ],
    { name: 'crashing-director', readyFd: true, ref: true },
  );
  await victim.ready;
  process.kill(victim.pid, 'SIGKILL');
  await victim.exited;
  t.match(await listTable('uvs_crash'), /198\.18\.0\.100 \. tcp \. 443/, 'after kill -9 its table and rules remain');
  t.match((await tcp(VIP, 443)).error, /timeout/, 'still isolating');
  const restarted = await KernelIsolation.open({ table: 'uvs_crash', netns: dir1 });
  t.notMatch(await listTable('uvs_crash'), /elements/, 'the next start removed the leftover rules');
  t.match((await tcp(VIP, 443)).error, /ECONNREFUSED/, 'VIP:443 is the kernel\'s again');
  await restarted.close();
  t.notMatch(await listTables(), /uvs_crash/);

  // Same with the main table, whose handle is simply dropped.
  t.match(await listTables(), /table inet uvs/);
  const next = await KernelIsolation.open({ table: 'uvs', netns: dir1 });
  const fresh = await listTable();
  t.notMatch(fresh, /elements/, 'the leftover rules are gone: empty sets');
  t.match(fresh, /type filter hook prerouting priority raw - 10; policy accept;/, 'the skeleton is in place (nft prints -310 as raw - 10)');
  t.match((await tcp(VIP, 80)).error, /ECONNREFUSED/, 'nothing isolated until apply()');
  await next.apply(RULES);
  t.match((await tcp(VIP, 80)).error, /timeout/, 'isolated again');
  await next.close();
  await next.close();
  t.notMatch(await listTables(), /uvs/, 'close() deleted the table');
  t.match((await tcp(VIP, 80)).error, /ECONNREFUSED/, 'the kernel handles the VIP again');
  await t.rejects(async () => next.apply(RULES), { code: 'UVS_ISOLATION_CLOSED' });
  await iso.close(); // the crashed handle: its table is already gone, close is harmless
});

t.test('nft missing: a clear error naming the package', async (t) => {
  await t.rejects(KernelIsolation.open({ netns: dir1, nft: '/nonexistent/nft' }), {
    code: 'UVS_ISOLATION_NO_NFT',
    message: /package 'nftables'.*in network namespace/,
  });
  // Without a namespace (nothing runs: the binary does not exist).
  await t.rejects(KernelIsolation.open({ nft: '/nonexistent/nft' }), { code: 'UVS_ISOLATION_NO_NFT', message: /nftables/ });
});

t.test('nothing of ours outside the lab', async (t) => {
  t.notMatch(sh(['nft', 'list', 'tables']), /inet uvs/, 'no uvs table in the root namespace');
});
