// IPVS semantics in the engine, in memory on a fake clock (issue 4): persistence templates
// (netmask, expiry, quiesced and removed servers), expire_nodest_conn, connection reuse,
// scheduler state kept across service-table generations, thresholds, firewall-mark
// services and sloppy_tcp. Frames go in; which real server the engine sent each one to
// (the IPv4 destination of the NAT-rewritten frame) comes out.
import t from 'tap';
import { ip4FromString, ip4ToString } from '../../src/packet/addr.js';
import { buildFrame, type FrameDesc } from '../../src/packet/builder.js';
import { ENGINE } from '../../src/datapath/stats.js';
import { DEFAULT_SYSCTL, METHOD_NAT, type DatapathSnapshot, type ServiceSnapshot } from '../../src/datapath/snapshot.js';
import { parseMarkRules } from '../../src/tables/fwmark.js';
import { feed, LAB, makeEngine, type TestEngine } from './fixtures/engine.js';

const SYN = 0x02;
const ACK = 0x10;
const FIN = 0x01;
const T0 = 1_000_000;
const VIP = ip4FromString(LAB.vip);
const RS = LAB.servers.map((a) => ip4FromString(a));

function segment(src: string, sport: number, dport: number, flags: number): Uint8Array {
  return buildFrame({
    eth: { src: LAB.clientMac, dst: LAB.dirPubMac },
    ipv4: { src, dst: LAB.vip, ttl: 64, id: 1 },
    tcp: { sport, dport, seq: 1, ack: flags & ACK ? 1 : 0, flags, window: 1000 },
  } as FrameDesc);
}

/** Sends a segment from src:sport at `now`; returns the real server it went to ('' if none). */
function send(e: TestEngine, src: string, sport: number, flags: number, now: number, dport = 9000): string {
  const before = e.priv.committed;
  feed(e, segment(src, sport, dport, flags), 0, 0, 0, now);
  if (e.priv.committed === before) return '';
  const f = e.priv.frame();
  return ip4ToString((f[30]! << 24) | (f[31]! << 16) | (f[32]! << 8) | f[33]!);
}

function dests(weights = [1, 1, 1], port = 9000) {
  return RS.map((address, i) => ({ address, port, weight: weights[i]!, method: METHOD_NAT, slot: i }));
}

function withServices(e: TestEngine, services: ServiceSnapshot[], extra: Partial<DatapathSnapshot> = {}): void {
  e.snapshot = { ...e.snapshot, ...extra, services, generation: e.snapshot.generation + 1 };
  e.engine.apply(e.snapshot);
}

const persistent = (timeout: number, netmask = '255.255.255.255', weights?: number[]): ServiceSnapshot => ({
  protocol: 6, address: VIP, port: 9000, scheduler: 'rr', persistence: { timeout, netmask: ip4FromString(netmask) }, dests: dests(weights),
});

t.test('persistence: one client sticks, the next client is scheduled, -M groups a network', async (t) => {
  const e = makeEngine('nat');
  withServices(e, [persistent(300)]);
  const first = send(e, LAB.client, 40000, SYN, T0);
  t.equal(send(e, LAB.client, 40001, SYN, T0 + 1000), first, 'a second connection of the client: same server');
  t.equal(send(e, LAB.client, 40002, SYN, T0 + 2000), first, 'and a third');
  t.not(send(e, '198.18.0.11', 40000, SYN, T0 + 3000), first, 'another client is scheduled (rr: the next server)');
  t.equal(e.engine.stats.counters.persist.reduce((a, b) => a + b, 0), 2, 'two templates (PersistConn)');

  const g = makeEngine('nat');
  withServices(g, [persistent(300, '255.255.255.0')]);
  const net = send(g, LAB.client, 40000, SYN, T0);
  for (let h = 11; h < 20; h++) t.equal(send(g, `198.18.0.${h}`, 40000, SYN, T0), net, `198.18.0.${h} shares the /24's server`);
});

t.test('persistence: the template lives while it owns connections, then expires', async (t) => {
  const e = makeEngine('nat');
  withServices(e, [persistent(10)]);
  const first = send(e, LAB.client, 40000, SYN, T0);
  send(e, LAB.client, 40000, ACK, T0 + 10);
  // The connection stays ESTABLISHED (900 s): the template outlives its 10 s and keeps the client.
  t.equal(send(e, LAB.client, 40001, SYN, T0 + 20_000), first, 'after the template timeout, a live connection keeps it (re-armed for 60 s)');
  // Close both connections down (RST -> CLOSE, 10 s), then let everything expire.
  send(e, LAB.client, 40000, 0x04, T0 + 21_000);
  send(e, LAB.client, 40001, 0x04, T0 + 21_000);
  const later = T0 + 21_000 + 11_000 + 61_000;
  e.engine.afterBatch(later);
  e.engine.afterBatch(later + 1000);
  t.equal(e.engine.conns.size, 0, 'the connections expired');
  t.equal(e.engine.templates.size, 0, 'then the template');
  t.not(send(e, LAB.client, 40002, SYN, later + 2000), first, 'the client is scheduled afresh (rr moves on)');
});

t.test('persistence: quiesced and removed servers (expire_quiescent_template)', async (t) => {
  for (const eqt of [0, 1]) {
    const e = makeEngine('nat');
    withServices(e, [persistent(300)], { sysctl: { ...DEFAULT_SYSCTL, expireQuiescentTemplate: eqt } });
    const first = send(e, LAB.client, 40000, SYN, T0);
    const i = RS.indexOf(ip4FromString(first));
    const w = [1, 1, 1];
    w[i] = 0;
    withServices(e, [persistent(300, undefined, w)], { sysctl: { ...DEFAULT_SYSCTL, expireQuiescentTemplate: eqt } });
    const next = send(e, LAB.client, 40001, SYN, T0 + 1000);
    if (eqt === 0) t.equal(next, first, 'expire_quiescent_template=0: the client keeps its quiesced server');
    else t.not(next, first, 'expire_quiescent_template=1: the client is rescheduled');
    t.equal(send(e, '198.18.0.11', 40000, SYN, T0 + 2000) === first, false, 'a new client never gets the quiesced server');
  }
  const e = makeEngine('nat');
  withServices(e, [persistent(300)]);
  const first = send(e, LAB.client, 40000, SYN, T0);
  const keep = dests().filter((d) => d.address !== ip4FromString(first));
  withServices(e, [{ ...persistent(300), dests: keep }]);
  t.not(send(e, LAB.client, 40001, SYN, T0 + 1000), first, 'server removed: the template is invalid, the client rescheduled');
});

t.test('expire_nodest_conn: packets of a removed server dropped (0) or the entry expired (1)', async (t) => {
  for (const end of [0, 1]) {
    const e = makeEngine('nat');
    const base = { protocol: 6, address: VIP, port: 9000, scheduler: 'rr' } as const;
    withServices(e, [{ ...base, dests: dests() }], { sysctl: { ...DEFAULT_SYSCTL, expireNodestConn: end } });
    const first = send(e, LAB.client, 40000, SYN, T0);
    send(e, LAB.client, 40000, ACK, T0 + 1);
    withServices(e, [{ ...base, dests: dests().filter((d) => d.address !== ip4FromString(first)) }], { sysctl: { ...DEFAULT_SYSCTL, expireNodestConn: end } });
    const noDest = e.engine.stats.engine[ENGINE.noDest]!;
    if (end === 0) {
      t.equal(send(e, LAB.client, 40000, ACK, T0 + 2), '', 'expire_nodest_conn=0: the packet is dropped');
      t.equal(e.engine.stats.engine[ENGINE.noDest], noDest + 1, 'and counted');
      t.equal(e.engine.conns.size, 1, 'the entry lives on');
    } else {
      t.equal(e.engine.conns.size, 0, 'expire_nodest_conn=1: the removed server\'s entries went at once');
      const again = send(e, LAB.client, 40000, SYN, T0 + 3);
      t.ok(again !== '' && again !== first, `a new SYN on the tuple is scheduled to a live server (${again})`);
    }
  }
});

t.test('connection reuse: a SYN on a TIME_WAIT entry is rescheduled unless conn_reuse_mode=0', async (t) => {
  for (const mode of [1, 0]) {
    const e = makeEngine('nat');
    withServices(e, [{ protocol: 6, address: VIP, port: 9000, scheduler: 'rr', dests: dests() }], { sysctl: { ...DEFAULT_SYSCTL, connReuseMode: mode } });
    const first = send(e, LAB.client, 40000, SYN, T0);
    send(e, LAB.client, 40000, ACK, T0 + 1);
    send(e, LAB.client, 40000, FIN | ACK, T0 + 2); // -> CLOSE_WAIT
    // the server's FIN (output) -> TIME_WAIT
    const reply = buildFrame({ eth: { src: LAB.serverMacs[RS.indexOf(ip4FromString(first))]!, dst: LAB.dirPrivMac }, ipv4: { src: first, dst: LAB.client, ttl: 64, id: 2 }, tcp: { sport: 9000, dport: 40000, seq: 1, ack: 2, flags: FIN | ACK, window: 1000 } } as FrameDesc);
    feed(e, reply, 1, 0, 0, T0 + 3);
    t.equal(e.engine.conns.state[0], 5, 'the entry is in TIME_WAIT');
    const again = send(e, LAB.client, 40000, SYN, T0 + 4);
    if (mode === 1) t.not(again, first, 'conn_reuse_mode=1: rescheduled (rr: the next server)');
    else t.equal(again, first, 'conn_reuse_mode=0: follows the old entry');
  }
});

t.test('a kept service keeps its scheduler state across generations', async (t) => {
  const e = makeEngine('nat');
  const svc: ServiceSnapshot = { protocol: 6, address: VIP, port: 9000, scheduler: 'rr', dests: dests() };
  withServices(e, [svc]);
  const a = send(e, LAB.client, 40000, SYN, T0);
  withServices(e, [svc]); // same config, new generation (e.g. SIGHUP)
  const b = send(e, LAB.client, 40001, SYN, T0 + 1);
  t.not(b, a, 'rr continues where it was instead of starting over');
  withServices(e, [{ ...svc, scheduler: 'wrr' }]);
  t.equal(e.engine.stats.engine[ENGINE.snapshotsApplied], 4, 'scheduler changed with -E semantics');
});

t.test('thresholds: an overloaded server gets nothing; none left: ICMP port unreachable', async (t) => {
  const e = makeEngine('nat');
  withServices(e, [{ protocol: 6, address: VIP, port: 9000, scheduler: 'rr', dests: dests().map((d) => ({ ...d, upper: 1 })) }]);
  const got = new Set([send(e, LAB.client, 40000, SYN, T0), send(e, LAB.client, 40001, SYN, T0), send(e, LAB.client, 40002, SYN, T0)]);
  t.equal(got.size, 3, 'one connection each, then every server is at its upper threshold');
  const icmp = e.engine.stats.engine[ENGINE.icmpSent]!;
  t.equal(send(e, LAB.client, 40003, SYN, T0), '', 'the fourth goes nowhere');
  t.equal(e.engine.stats.engine[ENGINE.icmpSent], icmp + 1, 'ICMP port unreachable went to the client');
  const f = e.pub.frame();
  t.equal(f[23], 1, 'an ICMP packet');
  t.same([f[34], f[35]], [3, 3], 'destination unreachable / port unreachable');
});

t.test('fwmark service: marked ports share one persistent template, unmarked ones are not balanced', async (t) => {
  const e = makeEngine('nat');
  const markRules = parseMarkRules(`-t mangle -A PREROUTING -p tcp -d ${LAB.vip}/32 -m multiport --dports 80,443 -j MARK --set-mark 7`, 'test');
  withServices(e, [{ protocol: 0, address: 0, port: 0, fwmark: 7, scheduler: 'rr', persistence: { timeout: 300, netmask: 0xffffffff }, dests: dests([1, 1, 1], 0) }], { markRules });
  const a = send(e, LAB.client, 40000, SYN, T0, 80);
  t.ok(a !== '', `port 80 balanced (${a})`);
  t.equal(send(e, LAB.client, 40001, SYN, T0, 443), a, 'port 443 to the same server (one fwmark template)');
  t.equal(e.engine.templates.size, 1, 'one template');
  const f = e.priv.frame();
  t.equal((f[36]! << 8) | f[37]!, 443, 'server port 0: the packet keeps its destination port');
  t.equal(send(e, LAB.client, 40002, SYN, T0, 22), '', 'port 22 is not marked');
  t.equal(e.engine.stats.engine[ENGINE.noService], 1, 'counted as no service');
});

t.test('sloppy_tcp: a mid-stream segment creates a connection', async (t) => {
  for (const sloppy of [0, 1]) {
    const e = makeEngine('nat');
    withServices(e, [{ protocol: 6, address: VIP, port: 9000, scheduler: 'rr', dests: dests() }], { sysctl: { ...DEFAULT_SYSCTL, sloppyTcp: sloppy } });
    const r = send(e, LAB.client, 40000, ACK, T0);
    if (sloppy) t.ok(r !== '', 'sloppy_tcp=1: the ACK is balanced');
    else t.equal(r, '', 'sloppy_tcp=0: an ACK without a connection is left alone');
  }
});
