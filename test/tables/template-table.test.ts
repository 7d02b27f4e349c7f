// The shared persistence-template table (connections.md §7, §2.2): find/create/attach/
// release, expiry with and without owned connections (the 60 s re-arm), invalidation,
// PersistConn counts, capacity refusal, drop_entry for templates, the listing from another
// thread, and two worker threads racing find-or-create over one buffer.
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { ip4FromString as ip } from '../../src/packet/addr.js';
import { ConnectionTable } from '../../src/tables/connection-table.js';
import { createDestCounters } from '../../src/tables/dest-counters.js';
import { listTemplates, type ConnectionRow } from '../../src/tables/listing.js';
import { DIR_INPUT, nextTcpState, tcpEvent } from '../../src/tables/tcp-states.js';
import { TemplateTable, T_ASSURED } from '../../src/tables/template-table.js';
import type { HammerJob, ListJob } from './fixtures/template-worker.js';

const TCP = 6;
const SNET = ip('198.18.0.0');
const VIP = ip('198.18.0.100');
const RS1 = ip('198.19.0.11');
const RS2 = ip('198.19.0.12');
const T0 = 1_700_000_000_000;
const P = 360_000;

function setup(capacity = 16): { tt: TemplateTable; c: ReturnType<typeof createDestCounters> } {
  const c = createDestCounters(8, true);
  return { tt: new TemplateTable(TemplateTable.sharedBuffer(capacity), c), c };
}
/** find, else create to RS1 (slot 0), then attach: the engine's sequence under the lock. */
function use(tt: TemplateTable, now: number, vport = 80, dest = 0): number {
  tt.lock();
  let i = tt.find(TCP, SNET, VIP, vport, now);
  if (i < 0) i = tt.create(TCP, SNET, VIP, vport, dest === 0 ? RS1 : RS2, 80, dest, P, now);
  if (i >= 0) tt.attach(i, now);
  tt.unlock();
  return i;
}

t.test('find / create / attach / release', async (t) => {
  const { tt, c } = setup();
  tt.lock();
  t.equal(tt.find(TCP, SNET, VIP, 80, T0), -1);
  tt.unlock();
  const i = use(tt, T0);
  t.not(i, -1);
  t.equal(tt.size, 1);
  t.equal(c.persist[0], 1, 'PersistConn counts the template');
  t.equal(c.active[0]! + c.inactive[0]!, 0, 'and nothing else');
  t.equal(tt.nControl[i], 1);
  t.equal(tt.expires[i], T0 + P);
  t.equal(use(tt, T0 + 1000), i, 'the same key finds it');
  t.equal(tt.nControl[i], 2);
  t.equal(tt.expires[i], T0 + 1000 + P, 'a new connection restarts the timer');
  tt.lock();
  t.equal(tt.find(TCP, SNET, VIP, 443, T0), -1, 'vport is part of the key');
  t.equal(tt.find(17, SNET, VIP, 80, T0), -1, 'protocol too');
  t.equal(tt.find(TCP, ip('10.0.0.0'), VIP, 80, T0), -1, 'and the client network');
  tt.unlock();
  tt.release(i);
  tt.release(i);
  t.equal(tt.nControl[i], 0);
  t.equal(tt.size, 1, 'released templates live until their timer runs out');
  t.equal(tt.expires[i], T0 + 1000 + P, 'release does not touch the timer');
});

t.test('expiry: removed without children, re-armed for 60 s with them', async (t) => {
  const { tt, c } = setup();
  const i = use(tt, T0);
  tt.release(i);
  tt.lock();
  t.equal(tt.find(TCP, SNET, VIP, 80, T0 + P - 1), i, 'alive 1 ms before');
  t.equal(tt.find(TCP, SNET, VIP, 80, T0 + P), -1, 'expired, no children: gone');
  tt.unlock();
  t.equal(tt.size, 0);
  t.equal(tt.expired, 1);
  t.equal(c.persist[0], 0);

  const j = use(tt, T0);
  tt.lock();
  t.equal(tt.find(TCP, SNET, VIP, 80, T0 + P + 5), j, 'expired with a live connection: kept');
  t.equal(tt.expires[j], T0 + P + 5 + 60_000, 're-armed for 60 s');
  t.equal(tt.timeoutMs[j], 60_000, 'and 60 s from then on');
  tt.attach(j, T0 + P + 10);
  tt.unlock();
  t.equal(tt.expires[j], T0 + P + 10 + 60_000, 'a new connection re-arms it for 60 s, not the configured timeout');
  // The sweep does the same to templates nobody looks up.
  t.equal(tt.sweep(T0 + P + 10 + 60_000, 16), 0, 'still owns connections: re-armed by the sweep');
  t.equal(tt.expires[j], T0 + P + 10 + 120_000);
  tt.release(j);
  tt.release(j);
  t.equal(tt.sweep(T0 + P + 10 + 120_000, 16), 1, 'then removed');
  t.equal(tt.size, 0);
});

t.test('invalidate: never matches again, left to time out', async (t) => {
  const { tt, c } = setup();
  const i = use(tt, T0);
  tt.lock();
  tt.invalidate(i);
  t.equal(tt.find(TCP, SNET, VIP, 80, T0), -1);
  tt.unlock();
  const j = use(tt, T0, 80, 1);
  t.not(j, i, 'a fresh template for the same key');
  t.equal(tt.daddr[j], RS2);
  t.equal(tt.size, 2);
  t.same([c.persist[0], c.persist[1]], [1, 1]);
  t.equal(use(tt, T0 + 1), j, 'the key now finds the new one');
  tt.release(i);
  t.equal(tt.sweep(T0 + P, 16), 1, 'the invalidated one times out');
  t.same([c.persist[0], c.persist[1]], [0, 1]);
  t.equal(tt.invalidateDest(1), 1, 'invalidateDest');
  tt.lock();
  t.equal(tt.find(TCP, SNET, VIP, 80, T0 + 2), -1);
  tt.unlock();
});

t.test('capacity: refused when full, expired ones reclaimed first', async (t) => {
  const { tt } = setup(2);
  const a = use(tt, T0, 1);
  const b = use(tt, T0, 2);
  t.equal(use(tt, T0, 3), -1, 'full');
  t.equal(tt.refused, 1);
  tt.release(a);
  t.not(use(tt, T0 + P, 3), -1, 'an expired, childless template made room');
  t.equal(tt.expired, 1);
  t.equal(tt.nControl[b], 1, 'the other one, still owning a connection, stays');
  t.equal(tt.size, 2);
});

t.test('forced release and defend(): unassured templates without children go', async (t) => {
  const { tt } = setup();
  const a = use(tt, T0, 1);
  const b = use(tt, T0, 2);
  tt.assure(b);
  t.equal(tt.flags[b]! & T_ASSURED, T_ASSURED);
  tt.release(b, true);
  t.equal(tt.size, 2, 'assured: stays');
  t.equal(use(tt, T0, 1), a);
  tt.release(a, true);
  t.equal(tt.size, 2, 'still owns another connection: stays');
  tt.release(a, true);
  t.equal(tt.size, 1, 'unassured, owning nothing: deleted');
  const c2 = use(tt, T0, 3);
  const d2 = use(tt, T0, 4);
  tt.release(d2);
  t.equal(tt.defend(16), 1, 'drop_entry takes the unassured childless template only');
  t.equal(tt.nControl[c2], 1);
  t.equal(tt.size, 2);
});

t.test('listing: templates, fwmark templates, from another thread', async (t) => {
  const { tt, c } = setup();
  const i = use(tt, T0);
  tt.lock();
  const m = tt.create(0, SNET, 7, 0, RS2, 0, 1, P, T0);
  tt.attach(m, T0);
  tt.unlock();
  const conns = new ConnectionTable(c, { capacity: 8, buffer: new SharedArrayBuffer(ConnectionTable.bufferBytes(8)), templates: tt });
  const k = conns.insert(TCP, ip('198.18.0.10'), 40000, VIP, 80, RS1, 80, 0, 0, T0, i);
  conns.setState(k, nextTcpState(DIR_INPUT, tcpEvent(0x02), 0), T0);
  conns.setState(k, nextTcpState(DIR_INPUT, tcpEvent(0x10), conns.state[k]!), T0);
  const want: ConnectionRow[] = [
    { protocol: 'TCP', client: '198.18.0.0:0', virtual: '198.18.0.100:80', real: '198.19.0.11:80', state: 'ASSURED', expiresInMs: P - 1000, template: true },
    { protocol: 'IP', client: '198.18.0.0:0', virtual: 'FWM 7', real: '198.19.0.12:0', state: 'NONE', expiresInMs: P - 1000, template: true },
  ];
  t.same(listTemplates(tt.buffer, T0 + 1000), want);
  const job: ListJob = { job: 'list', templates: tt.buffer, connections: conns.buffer as SharedArrayBuffer, nowMs: T0 + 1000 };
  const out = await runWorker<{ templates: ConnectionRow[]; connections: ConnectionRow[] }>(job);
  t.same(out.templates, want, 'the same rows read from a worker thread');
  t.same(out.connections, [{ protocol: 'TCP', client: '198.18.0.10:40000', virtual: '198.18.0.100:80', real: '198.19.0.11:80', state: 'ESTABLISHED', expiresInMs: 899_000, template: false }]);
});

function runWorker<R>(data: HammerJob | ListJob): Promise<R> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./fixtures/template-worker.js', import.meta.url), { workerData: data });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`worker exit ${code}`)));
  });
}

t.test('two workers racing find-or-create never make two templates for one key', async (t) => {
  const keys = 8192;
  const maxDests = 8;
  const c = createDestCounters(maxDests, true);
  const templates = TemplateTable.sharedBuffer(2 * keys);
  const tt = new TemplateTable(templates, c);
  const start = new SharedArrayBuffer(4);
  const job = (seed: number): HammerJob => ({ job: 'hammer', templates, counters: c.active.buffer as SharedArrayBuffer, maxDests, keys, iterations: 100_000, seed, start, workers: 2, nowMs: T0 });
  const results = await Promise.all([runWorker<{ attached: number[]; released: number[]; created: number }>(job(1)), runWorker<{ attached: number[]; released: number[]; created: number }>(job(2))]);
  t.equal(tt.size, keys, 'one template per key');
  t.equal(results[0]!.created + results[1]!.created, keys, 'created once per key across both workers');
  const byKey = new Map<number, number[]>();
  for (let i = 0; i < tt.capacity; i++) if (tt.flags[i] !== 0) byKey.set(tt.caddr[i]!, [...(byKey.get(tt.caddr[i]!) ?? []), i]);
  t.equal(byKey.size, keys);
  let bad = 0;
  let total = 0;
  for (const [key, idx] of byKey) {
    const want = results[0]!.attached[key]! + results[1]!.attached[key]! - results[0]!.released[key]! - results[1]!.released[key]!;
    if (idx.length !== 1 || tt.nControl[idx[0]!] !== want) bad++;
    total += tt.nControl[idx[0]!]!;
  }
  t.equal(bad, 0, 'every key: exactly one template, nControl = attaches - releases');
  const attached = results.flatMap((r) => r.attached).reduce((a, b) => a + b, 0);
  const released = results.flatMap((r) => r.released).reduce((a, b) => a + b, 0);
  t.equal(attached, 2 * (keys + 100_000));
  t.equal(total, attached - released, 'nControl sums right');
  t.equal([...c.persist].reduce((a, b) => a + b, 0), keys, 'PersistConn sums to the templates');
});
