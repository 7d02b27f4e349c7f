// The connection table on a fake clock (the nowMs values passed in): default timeouts and
// expiry, ipvsadm --set taking effect at the next packet, active/inactive counts through
// traces, the OVERLOAD thresholds, eviction under pressure (drop_entry rules), defend()
// modes, expireDest, clear, template ownership, and the listing.
import t from 'tap';
import { ip4FromString as ip } from '../../src/packet/addr.js';
import { ConnectionTable, CONN_F_DROUTE, CONN_F_NOOUTPUT } from '../../src/tables/connection-table.js';
import { createDestCounters, setThresholds, type DestCounters } from '../../src/tables/dest-counters.js';
import { listConnections } from '../../src/tables/listing.js';
import {
  DIR_INPUT, DIR_INPUT_ONLY, DIR_OUTPUT, nextTcpState, STATE_NAMES, tcpEvent,
  TCP_CLOSE, TCP_ESTABLISHED, TCP_FIN_WAIT, TCP_SYN_RECV, TCP_TIME_WAIT, UDP_STATE,
} from '../../src/tables/tcp-states.js';
import { TemplateTable, T_ASSURED } from '../../src/tables/template-table.js';

const TCP = 6;
const UDP = 17;
const [F, S, R, A] = [0x01, 0x02, 0x04, 0x10];
const CLIENT = ip('198.18.0.10');
const VIP = ip('198.18.0.100');
const RS = ip('198.19.0.11');
const T0 = 1_700_000_000_000;

function table(capacity = 64, counters = createDestCounters(8), extra = {}): { t: ConnectionTable; c: DestCounters } {
  return { t: new ConnectionTable(counters, { capacity, ...extra }), c: counters };
}
const add = (tb: ConnectionTable, cport: number, now: number, proto = TCP, dest = 0, flags = 0, control = -1): number =>
  tb.insert(proto, CLIENT, cport, VIP, 80, RS, 8080, flags, dest, now, control);
/** A TCP segment through the state machine, as the engine drives it. */
const seg = (tb: ConnectionTable, i: number, dir: number, flags: number, now: number): string => {
  tb.setState(i, nextTcpState(dir, tcpEvent(flags), tb.state[i]!), now);
  return STATE_NAMES[tb.state[i]!]!;
};

t.test('lookups from both sides, by the client endpoint', async (t) => {
  const { t: tb } = table();
  const i = add(tb, 40000, T0);
  t.equal(i, 0, 'first entry is index 0');
  t.equal(tb.lookupIn(TCP, CLIENT, 40000, VIP, 80, T0), i);
  t.equal(tb.lookupOut(TCP, CLIENT, 40000, RS, 8080, T0), i);
  t.equal(tb.lookupIn(UDP, CLIENT, 40000, VIP, 80, T0), -1, 'protocol is part of the key');
  t.equal(tb.lookupIn(TCP, CLIENT, 40001, VIP, 80, T0), -1);
  t.equal(tb.lookupIn(TCP, CLIENT, 40000, VIP, 81, T0), -1, 'vport compared');
  t.equal(tb.lookupOut(TCP, CLIENT, 40000, RS, 80, T0), -1, 'dport compared');
  t.equal(tb.size, 1);
  tb.remove(i);
  tb.remove(i);
  t.equal(tb.size, 0, 'removing twice is harmless');
  t.equal(tb.lookupIn(TCP, CLIENT, 40000, VIP, 80, T0), -1);
});

t.test('default timeouts and expiry on a fake clock', async (t) => {
  const { t: tb, c } = table();
  const i = add(tb, 1000, T0);
  t.equal(tb.expires[i], T0 + 3000, 'a new entry lives 3 s until its first packet');
  t.equal(seg(tb, i, DIR_INPUT, S, T0), 'SYN_RECV');
  t.equal(tb.expires[i], T0 + 60_000, 'SYN_RECV 60 s');
  t.equal(seg(tb, i, DIR_INPUT, A, T0 + 10), 'ESTABLISHED');
  t.equal(tb.expires[i], T0 + 10 + 900_000, 'ESTABLISHED 900 s from the last packet');
  t.equal(tb.lookupIn(TCP, CLIENT, 1000, VIP, 80, T0 + 10 + 899_999), i, 'alive 1 ms before');
  t.equal(c.active[0], 1);
  t.equal(tb.lookupIn(TCP, CLIENT, 1000, VIP, 80, T0 + 10 + 900_000), -1, 'gone at expiry');
  t.equal(tb.expired, 1);
  t.equal(c.active[0], 0, 'the expired active entry leaves ActiveConn');
  t.equal(tb.size, 0);

  const expect: [string, number][] = [['NONE', 2], ['ESTABLISHED', 900], ['SYN_SENT', 120], ['SYN_RECV', 60], ['FIN_WAIT', 120], ['TIME_WAIT', 120], ['CLOSE', 10], ['CLOSE_WAIT', 60], ['LAST_ACK', 30], ['LISTEN', 120], ['SYNACK', 120], ['UDP', 300]];
  for (const [name, secs] of expect) t.equal(tb.timeoutMs[STATE_NAMES.indexOf(name as never)], secs * 1000, `${name} ${secs} s`);

  const u = add(tb, 53, T0, UDP);
  tb.setState(u, UDP_STATE, T0);
  t.equal(tb.expires[u], T0 + 300_000, 'UDP 300 s');
  tb.udpReply(u, T0 + 5);
  t.equal(tb.expires[u], T0 + 5 + 300_000, 'a reply re-arms too');
  t.equal(tb.sweep(T0 + 5 + 299_999, 64), 0);
  t.equal(tb.sweep(T0 + 5 + 300_000, 64), 1, 'the sweep removes it at expiry');
  t.equal(c.inactive[0], 0);
});

t.test('setTimeouts (ipvsadm --set) applies at the next packet; 0 keeps', async (t) => {
  const { t: tb } = table();
  const i = add(tb, 1, T0);
  seg(tb, i, DIR_INPUT, S, T0);
  seg(tb, i, DIR_INPUT, A, T0);
  const u = add(tb, 2, T0, UDP);
  tb.setState(u, UDP_STATE, T0);
  tb.setTimeouts({ tcp: 100, tcpfin: 0, udp: 20 });
  t.same(tb.timeouts(), { tcp: 100, tcpfin: 120, udp: 20 });
  t.equal(tb.expires[i], T0 + 900_000, 'an established entry keeps its armed expiry');
  t.equal(tb.expires[u], T0 + 300_000);
  seg(tb, i, DIR_INPUT, A, T0 + 1000);
  t.equal(tb.expires[i], T0 + 1000 + 100_000, 'the next packet arms the new timeout');
  t.equal(tb.armedMs[i], 100_000);
  tb.setState(u, UDP_STATE, T0 + 1000);
  t.equal(tb.expires[u], T0 + 1000 + 20_000);
  tb.setTimeouts({ tcpfin: 30 });
  t.equal(seg(tb, i, DIR_INPUT_ONLY, F, T0 + 2000), 'FIN_WAIT');
  t.equal(tb.expires[i], T0 + 2000 + 30_000, 'tcpfin is the FIN_WAIT timeout');
  tb.setTimeouts({});
  t.same(tb.timeouts(), { tcp: 100, tcpfin: 30, udp: 20 });
});

t.test('active/inactive counts move with the state (§4.3)', async (t) => {
  const { t: tb, c } = table();
  const counts = (): [number, number] => [c.active[0]!, c.inactive[0]!];
  const i = add(tb, 1, T0);
  t.same(counts(), [0, 1], 'created inactive');
  seg(tb, i, DIR_INPUT, S, T0);
  t.same(counts(), [1, 0], 'SYN_RECV is active');
  seg(tb, i, DIR_OUTPUT, S | A, T0);
  seg(tb, i, DIR_INPUT, A, T0);
  t.same(counts(), [1, 0], 'ESTABLISHED');
  t.equal(seg(tb, i, DIR_INPUT, F | A, T0), 'CLOSE_WAIT');
  t.same(counts(), [0, 1], 'leaving an active state');
  seg(tb, i, DIR_OUTPUT, F | A, T0);
  t.same(counts(), [0, 1], 'TIME_WAIT inactive');
  tb.remove(i);
  t.same(counts(), [0, 0]);

  const d = add(tb, 2, T0, TCP, 0, CONN_F_DROUTE | CONN_F_NOOUTPUT);
  seg(tb, d, DIR_INPUT_ONLY, S, T0);
  seg(tb, d, DIR_INPUT_ONLY, A, T0);
  t.same(counts(), [1, 0]);
  t.equal(seg(tb, d, DIR_INPUT_ONLY, R, T0), 'CLOSE');
  t.same(counts(), [0, 1], 'RST: CLOSE, inactive');
  t.equal(tb.expires[d], T0 + 10_000, 'CLOSE 10 s');
  tb.remove(d);

  const u = add(tb, 3, T0, UDP);
  tb.setState(u, UDP_STATE, T0);
  tb.udpReply(u, T0);
  t.same(counts(), [0, 1], 'UDP always inactive');
  tb.clear();
  t.same(counts(), [0, 0]);
  t.equal(tb.size, 0);
});

t.test('OVERLOAD through the shared counters (thresholds -x/-y)', async (t) => {
  const c = createDestCounters(4);
  const { t: tb } = table(64, c);
  setThresholds(c, 0, 4, 2);
  const ids = [1, 2, 3].map((p) => add(tb, p, T0));
  t.equal(c.overload[0], 0, 'total 3 < upper 4');
  ids.push(add(tb, 4, T0));
  t.equal(c.overload[0], 1, 'set at total >= upper');
  tb.remove(ids.pop()!);
  tb.remove(ids.pop()!);
  t.equal(c.overload[0], 1, 'total 2 is not below lower 2');
  tb.remove(ids.pop()!);
  t.equal(c.overload[0], 0, 'cleared below lower');
  tb.clear();

  setThresholds(c, 0, 8, 0);
  const more = [1, 2, 3, 4, 5, 6, 7, 8].map((p) => add(tb, p, T0));
  t.equal(c.overload[0], 1);
  tb.remove(more.pop()!);
  tb.remove(more.pop()!);
  t.equal(c.overload[0], 1, '6 is not below 75% of 8');
  tb.remove(more.pop()!);
  t.equal(c.overload[0], 0, 'no lower threshold: cleared below 75% of upper');
  for (let p = 10; p < 13; p++) add(tb, p, T0);
  t.equal(c.overload[0], 1);
  setThresholds(c, 0, 0, 0);
  t.equal(c.overload[0], 0, 'upper 0: cleared at once');
  c.overload[0] = 1; // set before the thresholds went away
  tb.remove(more.pop()!);
  t.equal(c.overload[0], 0, 'no thresholds: cleared unconditionally on release');
  tb.clear();
});

t.test('a full table reclaims expired entries, then evicts by drop_entry rules, then refuses', async (t) => {
  const { t: tb, c } = table(8);
  for (let p = 0; p < 8; p++) seg(tb, add(tb, p, T0), DIR_INPUT, S, T0);
  const established = (from: number, n: number, now: number, pkts: number): number[] =>
    Array.from({ length: n }, (_, k) => {
      const i = add(tb, from + k, now);
      seg(tb, i, DIR_INPUT, S, now);
      seg(tb, i, DIR_INPUT, A, now);
      tb.inPkts[i] = pkts;
      return i;
    });

  // Full of SYN_RECV: each new flow evicts an embryonic one.
  t.equal(tb.size, 8);
  t.not(add(tb, 100, T0 + 1), -1, 'embryonic entry evicted');
  t.equal(tb.evictedEmbryonic, 1);
  t.equal(c.active[0]! + c.inactive[0]!, 8, 'counts follow the eviction');
  tb.clear();

  // Expired entries go first (counted as expired, not evicted).
  for (let p = 0; p < 8; p++) add(tb, p, T0);
  t.not(add(tb, 100, T0 + 3000), -1);
  t.equal(tb.expired, 8, 'the reclaim sweep took every expired entry it met');
  t.equal(tb.evictedEmbryonic, 1);
  tb.clear();

  // Fresh established entries stay: refused.
  established(0, 8, T0, 1);
  t.equal(add(tb, 100, T0 + 59_999), -1, 'established but idle < 60 s: refused');
  t.equal(tb.refused, 1);
  const j = add(tb, 100, T0 + 60_000);
  t.not(j, -1, 'idle 60 s with in_pkts 1: evicted');
  t.equal(tb.lookupIn(TCP, CLIENT, 100, VIP, 80, T0 + 60_000), j);
  t.equal(tb.evictedIdle, 1);
  tb.clear();

  // in_pkts 0 or > 8: never; FIN_WAIT/TIME_WAIT etc.: never.
  const keep = established(0, 4, T0, 0).concat(established(4, 2, T0, 9));
  for (const p of [6, 7]) {
    const i = add(tb, p, T0);
    seg(tb, i, DIR_INPUT_ONLY, S, T0);
    seg(tb, i, DIR_INPUT_ONLY, A, T0);
    seg(tb, i, DIR_INPUT_ONLY, F, T0);
    tb.inPkts[i] = 1;
  }
  t.equal(keep.length, 6);
  t.equal(add(tb, 100, T0 + 100_000), -1, 'nothing may go');
  t.equal(tb.refused, 2);
  tb.clear();

  // in_pkts 2: one of every two candidates goes.
  established(0, 8, T0, 2);
  const before = tb.evictedIdle;
  const ok = [100, 101, 102, 103].map((p) => add(tb, p, T0 + 100_000) >= 0);
  t.same(ok, [true, true, true, true], 'each insert finds a victim within its scan');
  t.equal(tb.evictedIdle - before, 4);
  t.equal(tb.size, 8);
  tb.clear();
});

t.test('defend(): drop_entry modes 0..3 with the high-water mark as memory pressure', async (t) => {
  const { t: tb } = table(64, createDestCounters(8), { highWater: 0.5 });
  const fill = (n: number): void => {
    for (let p = 0; p < n; p++) seg(tb, add(tb, p, T0), DIR_INPUT, S, T0);
  };
  fill(16);
  t.equal(tb.defend(T0, 0), 0, 'mode 0: off');
  t.equal(tb.defend(T0, 1), 0, 'mode 1 below the mark: off');
  t.equal(tb.dropEntry, 1);
  t.equal(tb.defend(T0, 3), 2, 'mode 3: always; capacity/32 = 2 entries examined per pass');
  t.equal(tb.dropEntry, 3);
  tb.clear();
  fill(40);
  let n = 0;
  for (let k = 0; k < 32; k++) n += tb.defend(T0, 1);
  t.equal(tb.dropEntry, 1, 'back to 1 once under the mark again');
  t.equal(n, 10, 'two a pass while at or above the mark: 40 -> 30');
  t.equal(tb.size, 30, 'below the mark (32 of 64): stopped');
  t.equal(tb.evictedEmbryonic, 12);
  tb.clear();
  fill(40);
  tb.defend(T0, 1);
  t.equal(tb.dropEntry, 2, 'above the mark: switched on (2)');
  tb.clear();
});

t.test('expireDest removes every entry of one server', async (t) => {
  const { t: tb, c } = table();
  for (let p = 0; p < 10; p++) seg(tb, add(tb, p, T0, TCP, p % 2), DIR_INPUT, S, T0);
  t.equal(tb.expireDest(1), 5);
  t.equal(tb.size, 5);
  t.equal(c.active[1], 0);
  t.equal(c.active[0], 5);
  t.equal(tb.expireDest(1), 0);
});

t.test('entries owned by a template: release, ASSURED, forced removal', async (t) => {
  const c = createDestCounters(8, true);
  const tt = new TemplateTable(TemplateTable.sharedBuffer(16), c);
  const { t: tb } = table(64, c, { templates: tt });
  tt.lock();
  const tp = tt.create(TCP, CLIENT, VIP, 80, RS, 8080, 0, 360_000, T0);
  tt.attach(tp, T0);
  tt.attach(tp, T0);
  tt.unlock();
  t.equal(c.persist[0], 1, 'PersistConn');
  const a = add(tb, 1, T0, TCP, 0, 0, tp);
  const b = add(tb, 2, T0, TCP, 0, 0, tp);
  t.equal(tb.control[a], tp);
  t.equal(tt.nControl[tp], 2);
  seg(tb, a, DIR_INPUT, S, T0);
  t.equal(listTemplateState(tt, tp), 'NONE');
  tb.remove(a);
  t.equal(tt.nControl[tp], 1, 'release on remove');
  tb.remove(b, true);
  t.equal(tt.size, 0, 'forced removal of the last owned entry deletes an unassured template');
  t.equal(c.persist[0], 0);

  tt.lock();
  const tp2 = tt.create(TCP, CLIENT, VIP, 80, RS, 8080, 0, 360_000, T0);
  tt.attach(tp2, T0);
  tt.unlock();
  const d = add(tb, 3, T0, TCP, 0, 0, tp2);
  seg(tb, d, DIR_INPUT, S, T0);
  seg(tb, d, DIR_INPUT, A, T0);
  t.equal(listTemplateState(tt, tp2), 'ASSURED', 'ESTABLISHED assures');
  tb.clear();
  t.equal(tt.size, 1, 'an assured template stays after a flush');
  t.equal(tt.nControl[tp2], 0);

  tt.lock();
  const tu = tt.create(UDP, CLIENT, VIP, 53, RS, 53, 0, 360_000, T0);
  tt.attach(tu, T0);
  tt.unlock();
  const u = add(tb, 4, T0, UDP, 0, 0, tu);
  tb.setState(u, UDP_STATE, T0);
  t.equal(listTemplateState(tt, tu), 'NONE', 'a request alone does not');
  tb.udpReply(u, T0);
  t.equal(listTemplateState(tt, tu), 'ASSURED', 'a UDP reply assures');
  t.equal(tb.lookupIn(UDP, CLIENT, 4, VIP, 80, T0 + 300_000), -1, 'expiry');
  t.equal(tt.nControl[tu], 0, 'expiry releases');
  t.equal(tt.size, 2, 'a normal removal leaves the template to its own timer');
});

function listTemplateState(tt: TemplateTable, i: number): string {
  return tt.flags[i]! & T_ASSURED ? 'ASSURED' : 'NONE';
}

t.test('in_pkts counts incoming packets', async (t) => {
  const { t: tb } = table();
  const i = add(tb, 1, T0);
  t.equal(tb.inPkts[i], 0);
  t.equal(tb.countIn(i), 1);
  t.equal(tb.countIn(i), 2);
  tb.remove(i);
  t.equal(tb.inPkts[add(tb, 1, T0)], 0, 'reset for a reused entry');
});

t.test('listing rows from a shared buffer', async (t) => {
  const c = createDestCounters(8);
  const buffer = new SharedArrayBuffer(ConnectionTable.bufferBytes(16));
  const tb = new ConnectionTable(c, { capacity: 16, buffer });
  const i = add(tb, 40000, T0);
  seg(tb, i, DIR_INPUT, S, T0);
  seg(tb, i, DIR_INPUT, A, T0);
  const u = tb.insert(UDP, CLIENT, 5353, VIP, 53, RS, 53, 0, 1, T0);
  tb.setState(u, UDP_STATE, T0);
  const rows = listConnections(buffer, T0 + 1000);
  t.same(rows, [
    { protocol: 'TCP', client: '198.18.0.10:40000', virtual: '198.18.0.100:80', real: '198.19.0.11:8080', state: 'ESTABLISHED', expiresInMs: 899_000, template: false },
    { protocol: 'UDP', client: '198.18.0.10:5353', virtual: '198.18.0.100:53', real: '198.19.0.11:53', state: 'UDP', expiresInMs: 299_000, template: false },
  ]);
  tb.remove(i);
  t.equal(listConnections(buffer, T0).length, 1);
  t.same(listConnections(new SharedArrayBuffer(ConnectionTable.bufferBytes(4)), T0), [], 'an uninitialised buffer lists nothing');
});

t.test('states reached as the engine drives them', async (t) => {
  const { t: tb } = table();
  const i = add(tb, 1, T0);
  t.equal(tb.state[i], 0);
  seg(tb, i, DIR_INPUT, S, T0);
  t.equal(tb.state[i], TCP_SYN_RECV);
  seg(tb, i, DIR_INPUT, A, T0);
  t.equal(tb.state[i], TCP_ESTABLISHED);
  seg(tb, i, DIR_OUTPUT, F, T0);
  t.equal(tb.state[i], TCP_FIN_WAIT);
  seg(tb, i, DIR_INPUT, F, T0);
  t.equal(tb.state[i], TCP_TIME_WAIT);
  seg(tb, i, DIR_INPUT, 0, T0);
  t.equal(tb.state[i], TCP_CLOSE, 'no flags: CLOSE');
});
