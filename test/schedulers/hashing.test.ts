// dh and sh: the worked examples of schedulers.md §9 and §10 (buckets, hashes, sh-port,
// sh-fallback), their rebuild hooks, and what a removal does. IPVS fills both tables by
// walking the list cyclically (no consistent hashing), so a removal remaps the buckets by
// the new list length, not only the removed server's keys: the tests pin that exact
// remapping, and the minimal-disruption property where IPVS has it (quiescing a server
// leaves the table alone, so with sh-fallback only its keys move).
import t from 'tap';
import { SCHED_F_FALLBACK, SCHED_F_PORT } from '../../src/schedulers/index.js';
import { Bench, ip, seeded } from './fixtures/bench.js';

const dotted = (v: number): string => [24, 16, 8, 0].map((s) => (v >>> s) & 255).join('.');

// §9 dh fills one bucket per server (C B A ...), §10 sh `weight` buckets each (C B B A ...).
// hash_32: 10.0.0.1 -> 39, 192.168.1.100 -> 89, 10.0.0.2 -> 137, 1.2.3.4 -> 52; mod 3 for
// dh: 0, 2, 2, 1; mod 4 for sh: 3, 1, 1, 0.
const EXAMPLES: [string, string, string][] = [
  ['dh', 'A=1 B=5 C=2', '10.0.0.1:C 192.168.1.100:A 10.0.0.2:A 1.2.3.4:B'],
  ['sh', 'A=1 B=2 C=1', '10.0.0.1:A 192.168.1.100:B 10.0.0.2:B 1.2.3.4:C'],
];

t.test('§9 dh and §10 sh examples', async (t) => {
  for (const [scheduler, added, expected] of EXAMPLES) {
    const b = new Bench(scheduler, added);
    for (const pair of expected.split(' ')) {
      const [address, name] = pair.split(':') as [string, string];
      t.equal(scheduler === 'dh' ? b.dest(address) : b.client(address), name, `${scheduler}: ${address} -> ${name}`);
    }
  }
});

t.test('dh: no fallback; an edit does not move keys; a removal remaps by the new length', async (t) => {
  const b = new Bench('dh', 'A=1 B=1 C=1');
  b.overload('C');
  t.equal(b.dest('10.0.0.1'), '-', 'OVERLOAD -> no destination');
  b.overload('C', false);
  b.edit('C', 0);
  t.equal(b.dest('10.0.0.1'), '-', 'weight 0 -> no destination');
  b.edit('C', 4);
  t.equal(b.dest('10.0.0.1'), 'C');
  b.remove('B');
  // List C, A: hash 39 -> bucket 39 -> 39 mod 2 = 1 -> A.
  t.equal(b.dest('10.0.0.1'), 'A');
  b.add('D', 1);
  // List D, C, A: 39 mod 3 = 0 -> D.
  t.equal(b.dest('10.0.0.1'), 'D');
  const empty = new Bench('dh', '');
  t.equal(empty.dest('10.0.0.1'), '-', 'empty service');
});

t.test('§10 sh-port and sh-fallback', async (t) => {
  const b = new Bench('sh', 'A=1 B=2 C=1');
  t.equal(b.client('10.0.0.1', 12345), 'A', 'without sh-port the port is ignored');

  const port = new Bench('sh', 'A=1 B=2 C=1', { flags: SCHED_F_PORT });
  t.equal(port.client('10.0.0.1', 12345), 'B', 'sh-port: hash 134 -> B');
  port.flow.protocol = 17;
  t.equal(port.client('10.0.0.1', 12345), 'B', 'UDP hashes the port too');
  port.flow.protocol = 132;
  t.equal(port.client('10.0.0.1', 12345), 'B', 'SCTP hashes the port too');
  port.flow.protocol = 1;
  t.equal(port.client('10.0.0.1', 12345), 'A', 'other protocols: port 0');

  const plain = new Bench('sh', 'A=1 B=2 C=1');
  plain.edit('A', 0);
  t.equal(plain.client('10.0.0.1'), '-', 'A at weight 0, no fallback: no destination');
  const fallback = new Bench('sh', 'A=1 B=2 C=1', { flags: SCHED_F_FALLBACK });
  fallback.edit('A', 0);
  t.equal(fallback.client('10.0.0.1'), 'B', 'sh-fallback: bucket 39 (A) -> bucket 78 (B)');
  fallback.edit('A', 1);
  fallback.overload('A');
  t.equal(fallback.client('10.0.0.1'), 'B', 'OVERLOAD falls back the same way');
  fallback.overload('B');
  fallback.overload('C');
  t.equal(fallback.client('10.0.0.1'), '-', 'all unavailable');
  t.equal(new Bench('sh', '', { flags: SCHED_F_FALLBACK }).client('10.0.0.1'), '-', 'empty service');
});

t.test('sh: the table follows edits (a weight-0 server keeps one bucket)', async (t) => {
  const b = new Bench('sh', 'A=1 B=2 C=1');
  // Pattern C B B A; with A weight 3: C B B A A A (6 buckets): hash 137 mod 6 = 5 -> A.
  t.equal(b.client('10.0.0.2'), 'B');
  b.edit('A', 3);
  t.equal(b.client('10.0.0.2'), 'A');
  // B weight 0: C B A A A (5): hash 235 mod 5 = 0 -> C; hash 52 mod 5 = 2 -> A.
  b.edit('B', 0);
  t.equal(b.client('10.0.0.3'), 'C');
  t.equal(b.client('1.2.3.4'), 'A');
});

/** Random client/destination keys. */
function keys(count: number, seed: number): string[] {
  const rnd = seeded(seed);
  return Array.from({ length: count }, () => dotted(Math.floor(rnd() * 2 ** 32)));
}

const SERVERS = 'A=1 B=1 C=1 D=1 E=1 F=1 G=1';
const LIST = ['G', 'F', 'E', 'D', 'C', 'B', 'A'];

for (const scheduler of ['dh', 'sh']) {
  const lookup = (b: Bench, key: string): string => (scheduler === 'dh' ? b.dest(key, false) : b.client(key));

  t.test(`${scheduler}: the same key always maps to the same server`, async (t) => {
    const one = new Bench(scheduler, SERVERS);
    const two = new Bench(scheduler, SERVERS);
    let differ = 0;
    for (const key of keys(5000, 1)) {
      const first = lookup(one, key);
      if (lookup(one, key) !== first || lookup(two, key) !== first) differ++;
    }
    t.equal(differ, 0);
  });

  t.test(`${scheduler}: a removal remaps every key by the new list length (bucket mod n)`, async (t) => {
    const b = new Bench(scheduler, SERVERS);
    const all = keys(5000, 2);
    const before = all.map((k) => lookup(b, k));
    b.remove('D');
    const after = all.map((k) => lookup(b, k));
    const rest = LIST.filter((x) => x !== 'D');
    let wrong = 0;
    let moved = 0;
    all.forEach((key, i) => {
      const hash = Math.imul(ip(key), 0x61c88647) >>> 24;
      if (before[i] !== LIST[hash % 7] || after[i] !== rest[hash % 6]) wrong++;
      if (before[i] !== after[i]) moved++;
    });
    t.equal(wrong, 0, 'server = list[hash mod n] before and after');
    t.ok(moved > all.length / 2, `not consistent hashing: ${((moved / all.length) * 100).toFixed(1)}% of keys moved`);
  });

  t.test(`${scheduler}: quiescing a server moves only its keys`, async (t) => {
    const flags = scheduler === 'sh' ? SCHED_F_FALLBACK : 0;
    const b = new Bench(scheduler, SERVERS, { flags });
    const all = keys(5000, 3);
    const before = all.map((k) => lookup(b, k));
    b.edit('D', 0);
    const after = all.map((k) => lookup(b, k));
    let wrong = 0;
    all.forEach((_, i) => {
      if (before[i] === 'D' ? after[i] === 'D' || (scheduler === 'sh') === (after[i] === '-') : after[i] !== before[i]) wrong++;
    });
    t.equal(wrong, 0, scheduler === 'sh' ? "D's keys fall back to other servers, the others stay" : "D's keys get no destination, the others stay");
  });
}
