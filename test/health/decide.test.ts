// effectiveTable: a down server removed or kept at weight 0 (service quiesce, server
// override), healthy servers at their dynamic weight, unwatched servers as configured; the
// sorry server in when every server is down (weight 1, the service's method and port) and
// out when one returns; keepalived quorum/hysteresis at their boundaries; the input table
// never changed.
import t from 'tap';
import { emptyTable, newServer, newService, type RealServer, type ServiceTable, type VirtualService } from '../../src/config/model.js';
import { effectiveTable, nextQuorumState, quorumOf, type QuorumStates } from '../../src/health/decide.js';
import type { ServerVerdict } from '../../src/health/monitor.js';
import { watchKey } from '../../src/health/watches.js';

function service(weights: number[], mutate: (s: VirtualService) => void = () => {}): VirtualService {
  const s = newService({ protocol: 'tcp', address: '10.0.0.1', port: 80, fwmark: 0, family: 4 });
  s.servers = weights.map((w, i): RealServer => ({ ...newServer(`10.0.1.${i + 1}`, 8080), method: 'nat', weight: w }));
  mutate(s);
  return s;
}

function tableOf(...services: VirtualService[]): ServiceTable {
  const table = emptyTable();
  table.services = services;
  return table;
}

/** Health of the servers of `s` by index: true/false, or a verdict. */
function view(s: VirtualService, states: Record<number, boolean | Partial<ServerVerdict>>): Map<string, ServerVerdict> {
  const m = new Map<string, ServerVerdict>();
  for (const [i, v] of Object.entries(states)) {
    const d = s.servers[Number(i)]!;
    const verdict = typeof v === 'boolean' ? { up: v } : v;
    m.set(watchKey(s, d), { up: true, weight: d.weight, reason: verdict.up === false ? 'TCP_CHECK: connect refused' : '', ...verdict });
  }
  return m;
}

const weights = (table: ServiceTable, i = 0): [string, number][] => table.services[i]!.servers.map((d) => [`${d.address}:${d.port}`, d.weight]);

t.test('a down server is removed; with quiesce it stays at weight 0; the server setting overrides the service', async (t) => {
  const plain = service([1, 2]);
  let r = effectiveTable(tableOf(plain), view(plain, { 0: false }));
  t.strictSame(weights(r.table), [['10.0.1.2:8080', 2]]);
  t.strictSame(r.changes, [{ service: 'TCP 10.0.0.1:80', server: '10.0.1.1:8080', action: 'removed', reason: 'TCP_CHECK: connect refused' }]);

  const quiesced = service([1, 2], (s) => (s.quiesce = true));
  r = effectiveTable(tableOf(quiesced), view(quiesced, { 0: false }));
  t.strictSame(weights(r.table), [['10.0.1.1:8080', 0], ['10.0.1.2:8080', 2]]);
  t.strictSame(r.changes, [{ service: 'TCP 10.0.0.1:80', server: '10.0.1.1:8080', action: 'quiesced', from: 1, to: 0, reason: 'TCP_CHECK: connect refused' }]);

  const overrides = service([1, 2, 3], (s) => {
    s.quiesce = true;
    s.servers[0]!.quiesce = false;
  });
  overrides.servers[2]!.quiesce = true;
  r = effectiveTable(tableOf(overrides), view(overrides, { 0: false, 1: false }));
  t.strictSame(weights(r.table), [['10.0.1.2:8080', 0], ['10.0.1.3:8080', 3]], 'server quiesce false wins over the service');
  const onlyServer = service([1, 2], (s) => (s.servers[1]!.quiesce = true));
  r = effectiveTable(tableOf(onlyServer), view(onlyServer, { 0: false, 1: false }));
  t.strictSame(weights(r.table), [['10.0.1.2:8080', 0]], 'server quiesce true under a service without');
});

t.test('healthy servers run at their dynamic weight; unwatched servers as configured; the input is not changed', async (t) => {
  const s = service([10, 10, 10]);
  const table = tableOf(s);
  const before = structuredClone(table);
  const r = effectiveTable(table, view(s, { 0: { weight: 5 }, 1: { weight: 0 } }));
  t.strictSame(weights(r.table), [['10.0.1.1:8080', 5], ['10.0.1.2:8080', 0], ['10.0.1.3:8080', 10]]);
  t.strictSame(r.changes, [
    { service: 'TCP 10.0.0.1:80', server: '10.0.1.1:8080', action: 'weight', from: 10, to: 5 },
    { service: 'TCP 10.0.0.1:80', server: '10.0.1.2:8080', action: 'weight', from: 10, to: 0 },
  ]);
  t.strictSame(table, before);
  t.strictSame(effectiveTable(table, new Map()).table, before, 'no health: the table as configured');
  t.strictSame(effectiveTable(table, new Map()).changes, []);
});

t.test('all servers down -> the sorry server (weight 1, method of the first server, its port); one back -> it goes', async (t) => {
  const s = service([1, 2], (x) => (x.sorryServer = { address: '10.0.9.9', port: 8081 }));
  const table = tableOf(s);
  let quorum: QuorumStates = effectiveTable(table, view(s, {})).quorum;
  t.strictSame([...quorum], [['TCP 10.0.0.1:80', true]]);
  const down = effectiveTable(table, view(s, { 0: false, 1: false }), quorum);
  t.strictSame(down.table.services[0]!.servers, [{ address: '10.0.9.9', port: 8081, method: 'nat', weight: 1, upper: 0, lower: 0 }]);
  t.strictSame(
    down.changes.map((c) => c.action),
    ['quorum-lost', 'removed', 'removed', 'sorry-server'],
  );
  t.equal(down.changes[0]!.reason, 'live weight 0, quorum 1, hysteresis 0');
  quorum = down.quorum;
  t.strictSame([...quorum], [['TCP 10.0.0.1:80', false]]);
  const back = effectiveTable(table, view(s, { 0: false, 1: true }), quorum);
  t.strictSame(weights(back.table), [['10.0.1.2:8080', 2]]);
  t.strictSame(back.changes.map((c) => c.action), ['quorum-regained', 'removed']);
  // Quiesced servers keep draining at weight 0 beside the sorry server.
  const q = service([1, 2], (x) => Object.assign(x, { quiesce: true, sorryServer: { address: '10.0.9.9', port: 80 } }));
  t.strictSame(weights(effectiveTable(tableOf(q), view(q, { 0: false, 1: false })).table), [['10.0.1.1:8080', 0], ['10.0.1.2:8080', 0], ['10.0.9.9:80', 1]]);
});

t.test('sorry server method and port: keepalived sorry_server_lvs_method; DR/TUN keep the service port (fwmark: 0)', async (t) => {
  const dr = service([1], (s) => {
    s.servers[0]!.method = 'dr';
    s.servers[0]!.port = 80;
    s.sorryServer = { address: '10.0.9.9', port: 80 };
  });
  t.match(effectiveTable(tableOf(dr), view(dr, { 0: false })).table.services[0]!.servers, [{ address: '10.0.9.9', port: 80, method: 'dr', weight: 1 }]);
  const named = service([1], (s) => {
    s.sorryServer = { address: '10.0.9.9', port: 8443 };
    s.health = { kind: 'none', extra: { sorry_server_lvs_method: 'TUN type gue port 6080' } };
  });
  t.match(effectiveTable(tableOf(named), view(named, { 0: false })).table.services[0]!.servers, [{ method: 'tun', port: 80 }]);
  const fwm = service([1], (s) => {
    Object.assign(s, { fwmark: 5, address: '', port: 0 });
    Object.assign(s.servers[0]!, { method: 'tun', port: 0, tunType: 'gue', tunPort: 6080 });
    s.sorryServer = { address: '10.0.9.9', port: 0 };
  });
  t.strictSame(effectiveTable(tableOf(fwm), view(fwm, { 0: false })).table.services[0]!.servers, [{ address: '10.0.9.9', port: 0, method: 'tun', weight: 1, upper: 0, lower: 0, tunType: 'gue', tunPort: 6080 }]);
  const empty = service([], (s) => (s.sorryServer = { address: '10.0.9.9', port: 80 }));
  t.match(effectiveTable(tableOf(empty), new Map()).table.services[0]!.servers, [{ address: '10.0.9.9', method: 'nat' }], 'no servers at all: the sorry server');
  const twin = service([1, 1], (s) => (s.sorryServer = { address: '10.0.1.2', port: 8080 }));
  t.strictSame(weights(effectiveTable(tableOf(twin), view(twin, { 0: false, 1: false })).table), [['10.0.1.2:8080', 1]], 'one entry when the sorry server is also a real server');
});

t.test('quorum and hysteresis at their boundaries (Q 4, H 1, weights 1+2+3)', async (t) => {
  const s = service([1, 2, 3], (x) => {
    x.health = { kind: 'none', extra: { quorum: '4', hysteresis: '1' } };
    x.sorryServer = { address: '10.0.9.9', port: 8080 };
  });
  const table = tableOf(s);
  const step = (states: Record<number, boolean>, previous?: QuorumStates) => effectiveTable(table, view(s, states), previous);
  t.strictSame(quorumOf(s), { quorum: 4, hysteresis: 1 });
  // First decision: up only at W >= Q + H = 5.
  t.equal(step({ 0: false }).quorum.get('TCP 10.0.0.1:80'), true, 'W 5: up');
  t.equal(step({ 1: false }).quorum.get('TCP 10.0.0.1:80'), false, 'W 4 at start: down (below Q + H)');
  let r = step({}); // W 6, up
  r = step({ 2: false }, r.quorum); // W 3 = Q - H: not below, stays up
  t.equal(r.quorum.get('TCP 10.0.0.1:80'), true, 'W 3: stays up');
  t.strictSame(weights(r.table), [['10.0.1.1:8080', 1], ['10.0.1.2:8080', 2]]);
  r = step({ 1: false, 2: false }, r.quorum); // W 1 < 3: down, sorry server replaces the live one
  t.equal(r.quorum.get('TCP 10.0.0.1:80'), false, 'W 1: down');
  t.strictSame(weights(r.table), [['10.0.9.9:8080', 1]]);
  t.strictSame(r.changes.filter((c) => c.action === 'replaced').map((c) => c.server), ['10.0.1.1:8080']);
  r = step({ 1: false }, r.quorum); // W 4 < Q + H: stays down
  t.equal(r.quorum.get('TCP 10.0.0.1:80'), false, 'W 4: stays down');
  t.strictSame(weights(r.table), [['10.0.9.9:8080', 1]]);
  r = step({ 0: false }, r.quorum); // W 5: up, sorry server out
  t.equal(r.quorum.get('TCP 10.0.0.1:80'), true, 'W 5: up again');
  t.strictSame(weights(r.table), [['10.0.1.2:8080', 2], ['10.0.1.3:8080', 3]]);
});

t.test('quorum defaults and corrections; quorum lost without a sorry server changes nothing', async (t) => {
  t.strictSame(quorumOf(service([1, 2])), { quorum: 1, hysteresis: 0 });
  t.strictSame(quorumOf(service([1, 2], (s) => (s.health = { kind: 'none', extra: { quorum: '10', hysteresis: '7' } }))), { quorum: 3, hysteresis: 2 }, 'quorum at most the total weight, hysteresis below it');
  t.strictSame(quorumOf(service([])), { quorum: 1, hysteresis: 0 });
  t.strictSame(quorumOf(service([1], (s) => (s.health = { kind: 'none', extra: { quorum: 'many' } }))), { quorum: 1, hysteresis: 0 }, 'garbage: the default');
  t.equal(nextQuorumState(0, { quorum: 1, hysteresis: 0 }, true), false, 'W 0 is down whatever the quorum');
  t.equal(nextQuorumState(1, { quorum: 1, hysteresis: 0 }, false), true);
  const s = service([1, 2], (x) => (x.health = { kind: 'none', extra: { quorum: '3' } }));
  const r = effectiveTable(tableOf(s), view(s, { 0: false }), new Map([['TCP 10.0.0.1:80', true]]));
  t.equal(r.quorum.get('TCP 10.0.0.1:80'), false);
  t.strictSame(weights(r.table), [['10.0.1.2:8080', 2]], 'no sorry server: the live servers stay');
  t.strictSame(r.changes.map((c) => c.action), ['quorum-lost', 'removed']);
  // Up services whose quorum state is unchanged report nothing.
  t.strictSame(effectiveTable(tableOf(s), view(s, {}), new Map([['TCP 10.0.0.1:80', true]])).changes, []);
});

t.test('services are decided independently; a service gone from the table leaves the quorum map', async (t) => {
  const a = service([1], (s) => (s.sorryServer = { address: '10.0.9.9', port: 8080 }));
  const b = service([1], (s) => Object.assign(s, { port: 443 }));
  const m = new Map([...view(a, { 0: false }), ...view(b, { 0: true })]);
  const r = effectiveTable(tableOf(a, b), m, new Map([['TCP 10.0.0.9:80', true]]));
  t.strictSame(weights(r.table, 0), [['10.0.9.9:8080', 1]]);
  t.strictSame(weights(r.table, 1), [['10.0.1.1:8080', 1]]);
  t.strictSame([...r.quorum.keys()], ['TCP 10.0.0.1:80', 'TCP 10.0.0.1:443']);
});
