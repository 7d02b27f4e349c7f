// lblc and lblcr: the worked examples of schedulers.md §7 and §8 (keyed by the packet's
// destination), the cache-hit path ignoring OVERLOAD, removed servers, set growth and
// 24 h pruning, and the garbage collection ticks (full pass every 30th 60 s tick, partial
// passes above 16384 entries).
import t from 'tap';
import { setLblcExpiration, setLblcrExpiration } from '../../src/schedulers/index.js';
import { hash32 } from '../../src/schedulers/hash.js';
import type { LocalityEntry, LocalityTable } from '../../src/schedulers/locality.js';
import { Bench, ip } from './fixtures/bench.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;

/** The scheduler's entries by destination address (lblc's state is its table; lblcr's holds one). */
function entries(b: Bench): Map<number, LocalityEntry> {
  const data = b.svc.data as LocalityTable<LocalityEntry> | { table: LocalityTable<LocalityEntry> };
  return ('table' in data ? data.table : data).entries;
}

/** Member names of the lblcr set for `daddr`. */
function members(b: Bench, daddr: string): string[] {
  const entry = entries(b).get(ip(daddr)) as unknown as { members: number[] };
  return entry.members.map((slot) => b.nameOfSlot(slot));
}

/** lblcr with expiration 10 s and key X's set {A, B}, made at time 0. */
function setOfTwo(): Bench {
  const b = new Bench('lblcr', 'A=1 B=1');
  setLblcrExpiration(b.svc, 10);
  b.flow.now = 0;
  b.flow.vaddr = ip('10.9.0.1');
  b.picks(3);
  return b;
}

t.test('§7 lblc example: X -> B, B, then A (B overloaded), Y -> A', async (t) => {
  const b = new Bench('lblc', 'A=1 B=1');
  t.equal(b.dest('10.9.0.1'), 'B', 'X unknown -> wlc -> B (first)');
  t.equal(b.dest('10.9.0.1'), 'B', 'X -> B (1 > 1 false)');
  t.equal(b.dest('10.9.0.1'), 'A', 'B 2 > 1 and A 0*2 < 1 -> overloaded -> wlc -> A');
  t.equal(b.dest('10.9.0.2'), 'A', 'Y unknown -> wlc: B 512 vs A 256 -> A');
  t.equal(b.dest('10.9.0.1'), 'A', 'X now remembers A');
});

t.test('lblc: the cache hit ignores OVERLOAD but not weight 0 or removal', async (t) => {
  const b = new Bench('lblc', 'A=1 B=1');
  t.equal(b.dest('10.9.0.1'), 'B');
  b.overload('B');
  t.equal(b.dest('10.9.0.1', false), 'B', 'OVERLOAD flag not consulted on a hit');
  t.equal(b.dest('10.9.0.2', false), 'A', 'a new key skips the OVERLOAD server');
  b.overload('B', false);
  b.edit('B', 0);
  t.equal(b.dest('10.9.0.1', false), 'A', 'weight 0: rescheduled, entry now A');
  b.edit('B', 1);
  b.load('A', 1);
  t.equal(b.dest('10.9.0.1', false), 'A', 'remembered A (1 > 1 false), although B is idle');
  b.remove('A');
  t.equal(b.dest('10.9.0.1', false), 'B', 'removed: unavailable');
  b.add('C', 1);
  t.equal(b.dest('10.9.0.1', false), 'B', 'the table survives additions');
  const empty = new Bench('lblc', 'A=0');
  t.equal(empty.dest('10.9.0.1'), '-', 'nothing eligible');
});

t.test('§8 lblcr example: set grows when B is busy, then picks its least loaded member', async (t) => {
  const b = new Bench('lblcr', 'A=1 B=1');
  t.equal(b.dest('10.9.0.1'), 'B', '1st -> B, set {B}');
  t.equal(b.dest('10.9.0.1'), 'B', 'B at 1 active: not overloaded');
  t.equal(b.dest('10.9.0.1'), 'A', 'B at 2 active, A idle: wlc -> A, set {A, B}');
  b.load('A', 3);
  t.equal(b.dest('10.9.0.1', false), 'B', 'least loaded member: B (512) < A (768)');
  b.load('A', 2);
  t.equal(b.dest('10.9.0.1', false), 'A', 'tie: first member (A, added last)');
  b.remove('A');
  t.equal(b.dest('10.9.0.1', false), 'B', 'a removed member is skipped');
});

t.test('lblcr: after lblcr_expiration without change the most loaded member goes', async (t) => {
  const b = new Bench('lblcr', 'A=1 B=1');
  setLblcrExpiration(b.svc, 600);
  b.flow.now = 1000;
  b.dest('10.9.0.1');
  b.dest('10.9.0.1');
  t.equal(b.dest('10.9.0.1'), 'A', 'set {A, B}, lastmod = 1000');
  b.load('A', 0);
  b.load('B', 5);
  b.flow.now = 1000 + 5 * MIN;
  t.equal(b.dest('10.9.0.1', false), 'A', 'a lookup refreshes lastuse, not lastmod');
  b.flow.now = 1000 + 10 * MIN;
  t.equal(b.dest('10.9.0.1', false), 'A', 'exactly 10 min after the last change');
  t.same(members(b, '10.9.0.1'), ['A', 'B'], 'no pruning yet');
  b.flow.now = 1001 + 10 * MIN;
  t.equal(b.dest('10.9.0.1', false), 'A', 'later: B (most loaded) removed, A used');
  t.same(members(b, '10.9.0.1'), ['A']);
  b.load('A', 1);
  b.load('B', 0);
  t.equal(b.dest('10.9.0.1', false), 'A', 'set {A}: A (1 active, weight 1) although B is idle');
});

t.test('lblcr: a set of three grows one by one and a prune restarts the expiration', async (t) => {
  const b = new Bench('lblcr', 'A=1 B=1 C=1');
  setLblcrExpiration(b.svc, 600);
  b.flow.now = 0;
  b.flow.vaddr = ip('10.9.0.1');
  t.equal(b.picks(5), 'C C B B A');
  t.same(members(b, '10.9.0.1'), ['A', 'B', 'C']);
  b.load('A', 0);
  b.load('B', 5);
  b.load('C', 3);
  b.flow.now = 10 * MIN + 1;
  t.equal(b.dest('10.9.0.1', false), 'A');
  t.same(members(b, '10.9.0.1'), ['A', 'C'], 'B (most loaded) pruned');
  b.flow.now = 10 * MIN + 2;
  t.equal(b.dest('10.9.0.1', false), 'A');
  t.same(members(b, '10.9.0.1'), ['A', 'C'], 'the prune set lastmod: no second prune yet');
});

t.test('lblcr pruning: the chosen member is used even if pruned; removed members count with their weight', async (t) => {
  const b = setOfTwo();
  t.same(members(b, '10.9.0.1'), ['A', 'B']);
  // A is OVERLOAD (so not the least) and idle (so not the most): B is both.
  b.overload('A');
  b.load('A', 0);
  b.load('B', 1);
  b.flow.now = 10_001;
  t.equal(b.dest('10.9.0.1', false), 'B', 'B chosen');
  t.same(members(b, '10.9.0.1'), ['A'], 'and pruned');

  const c = setOfTwo();
  c.load('A', 5);
  c.load('B', 1);
  c.remove('A');
  c.flow.now = 10_001;
  t.equal(c.dest('10.9.0.1', false), 'B');
  t.same(members(c, '10.9.0.1'), ['B'], 'removed A (5 active, weight 1) was the most loaded');
});

t.test('lblc garbage collection: full pass on every 30th 60 s tick only', async (t) => {
  const b = new Bench('lblc', 'A=1 B=1');
  setLblcExpiration(b.svc, 60);
  b.flow.now = 0;
  t.equal(b.dest('10.9.0.1'), 'B', 'X -> B, B at 1 active; GC clock starts');
  b.flow.now = 29.5 * MIN;
  t.equal(b.dest('10.9.0.1', false), 'B', 'idle 29.5 min (expiration 60 s) but no full pass yet');
  b.flow.now = 31 * MIN;
  t.equal(b.dest('10.9.0.1', false), 'B', 'tick 30 (30 min): used 30 s before, kept');
  b.flow.now = 58.5 * MIN;
  t.equal(b.dest('10.9.0.1', false), 'B', 'last use at 58.5 min');
  t.equal(entries(b).size, 1);
  b.flow.now = 61 * MIN;
  t.equal(b.dest('10.9.0.2', false), 'A', 'another key at 61 min (tick 60 ran first)');
  t.notOk(entries(b).has(ip('10.9.0.1')), 'X collected at tick 60');
  t.equal(b.dest('10.9.0.1', false), 'A', 'X rescheduled by wlc: A (idle) over B');
});

t.test('lblcr garbage collection and 24 h default', async (t) => {
  const b = new Bench('lblcr', 'A=1 B=1');
  b.flow.now = 0;
  b.dest('10.9.0.1');
  b.flow.now = DAY - 1;
  b.dest('10.9.0.2', false);
  t.equal(entries(b).size, 2);
  // Full passes at 30, 60, ... min; X last used at 0 goes at the first tick >= 24 h (1440 min).
  b.flow.now = DAY + 1;
  b.dest('10.9.0.2', false);
  t.notOk(entries(b).has(ip('10.9.0.1')), 'X collected after 24 h');
  t.ok(entries(b).has(ip('10.9.0.2')));
});

for (const extra of [300, 7000]) {
  t.test(`partial collection with 16384 + ${extra} entries: idle >= 6 min, bucket by bucket`, async (t) => {
    const b = new Bench('lblc', 'A=1 B=1');
    const total = 16384 + extra;
    b.flow.now = 0;
    const keys: number[] = [];
    for (let i = 0; i < total; i++) {
      b.flow.vaddr = (0x0b000000 + i * 7919) >>> 0;
      keys.push(b.flow.vaddr);
      b.pick(false);
    }
    t.equal(entries(b).size, total);
    // Ticks 1..5 (1..5 min) find nothing idle for 6 minutes.
    b.flow.now = MIN;
    b.dest('10.9.0.1', false);
    t.equal(entries(b).size, total + 1, 'nothing idle for 6 minutes yet');
    // Tick 6: the first batch is idle; goal = min((over max_size) * 4/3, 8192), taken from
    // buckets 1, 2, ... (the rover starts at 0) until at least the goal went.
    b.flow.now = 6 * MIN;
    b.dest('10.9.0.1', false);
    const goal = Math.min(Math.trunc(((total + 1 - 16384) * 4) / 3), 8192);
    const byBucket = new Map<number, number>();
    for (const k of keys) byBucket.set(hash32(k, 10), (byBucket.get(hash32(k, 10)) ?? 0) + 1);
    let expectGone = 0;
    for (let bucket = 1; expectGone < goal; bucket++) expectGone += byBucket.get(bucket) ?? 0;
    t.equal(entries(b).size, total + 1 - expectGone, `goal ${goal}: ${expectGone} collected`);
  });
}
