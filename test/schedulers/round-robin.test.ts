// rr and wrr: every worked example of schedulers.md §1 and §2 as exact pick sequences,
// the hooks (each change resets wrr's cursor, cw kept), and wrr's exact proportions.
import t from 'tap';
import { Bench, seeded } from './bench.js';

interface Case {
  name: string;
  scheduler: string;
  added: string;
  /** Changes before picking. */
  setup?: (b: Bench) => void;
  picks: string;
}

const cases: Case[] = [
  { name: '§1 weights 1', scheduler: 'rr', added: 'A=1 B=1 C=1', picks: 'C B A C B A C' },
  { name: '§1 B at weight 0', scheduler: 'rr', added: 'A=1 B=0 C=1', picks: 'C A C A C' },
  { name: '§2 A=3 B=2 C=1', scheduler: 'wrr', added: 'A=3 B=2 C=1', picks: 'C B A A B A C B A A B A' },
  { name: '§2 A=4 B=3 C=2', scheduler: 'wrr', added: 'A=4 B=3 C=2', picks: 'C B A A B A C B A C B A A B A C B A C B A' },
  { name: '§2 A=2 B=4 C=6 (di 2)', scheduler: 'wrr', added: 'A=2 B=4 C=6', picks: 'C B A C C B C B A C C B' },
  { name: '§2 A=1 B=1', scheduler: 'wrr', added: 'A=1 B=1', picks: 'B A B A' },
  { name: '§2 A=1 B=0 C=1', scheduler: 'wrr', added: 'A=1 B=0 C=1', picks: 'C A C A' },
  {
    name: '§2 A=5 OVERLOAD, B=1',
    scheduler: 'wrr',
    added: 'A=5 B=1',
    setup: (b) => b.overload('A'),
    picks: 'B B B',
  },
  { name: '§2 all weights 0', scheduler: 'wrr', added: 'A=0 B=0', picks: '- -' },
  { name: 'wrr: all OVERLOAD', scheduler: 'wrr', added: 'A=2 B=1', setup: (b) => (b.overload('A'), b.overload('B')), picks: '- - -' },
];

t.test('worked examples', async (t) => {
  for (const c of cases) {
    const b = new Bench(c.scheduler, c.added);
    c.setup?.(b);
    t.equal(b.picks(c.picks.split(' ').length), c.picks, `${c.scheduler} ${c.name}`);
  }
});

t.test('§2 A=3 alone, one pick, then B=2 and C=1 added: C B A A B A', async (t) => {
  const b = new Bench('wrr', 'A=3');
  t.equal(b.pick(), 'A');
  b.add('B', 2);
  b.add('C', 1);
  t.equal(b.picks(6), 'C B A A B A');
});

t.test('wrr: an OVERLOAD cleared mid-cycle is picked again; an edit resets the cursor', async (t) => {
  const b = new Bench('wrr', 'A=3 B=2 C=1');
  t.equal(b.picks(4), 'C B A A');
  b.overload('B');
  // cw=2: B skipped (OVERLOAD), A; cw=1: C, (B skipped), A.
  t.equal(b.picks(3), 'A C A');
  b.overload('B', false);
  // Edit: cursor to head, cw stays (1 <= mw): the cw=1 pass starts over.
  b.edit('C', 1);
  t.equal(b.picks(4), 'C B A A');
});

t.test('wrr: a pick that finds everything OVERLOAD after a restart stops at its start', async (t) => {
  const b = new Bench('wrr', 'A=3 B=2 C=1');
  t.equal(b.picks(2), 'C B');
  for (const x of 'ABC') b.overload(x);
  // From B: cw 1 -> restart at 3, 2, then the cw = 1 pass ends at B: cursor B, cw 1.
  t.equal(b.pick(), '-');
  for (const x of 'ABC') b.overload(x, false);
  t.equal(b.picks(4), 'A A B A');
});

t.test('wrr: removing the server under the cursor restarts at the head', async (t) => {
  const b = new Bench('wrr', 'A=1 B=1 C=1');
  t.equal(b.picks(2), 'C B');
  b.remove('B');
  t.equal(b.picks(4), 'C A C A');
});

t.test('rr: removal of the server under the cursor continues with the next one', async (t) => {
  const b = new Bench('rr', 'A=1 B=1 C=1');
  t.equal(b.picks(2), 'C B');
  b.remove('B');
  t.equal(b.picks(3), 'A C A');
  b.add('D', 1);
  // D is at the head: reached when the cursor wraps.
  t.equal(b.picks(4), 'D C A D');
});

t.test('wrr serves exactly in proportion to the weights over whole cycles', async (t) => {
  const rnd = seeded(3);
  for (let trial = 0; trial < 40; trial++) {
    const n = 2 + Math.floor(rnd() * 5);
    const names = 'ABCDEFG'.slice(0, n).split('');
    const weights = names.map(() => (1 + Math.floor(rnd() * 5)) * (trial % 4 === 0 ? 2 : 1));
    const b = new Bench('wrr', names.map((x, i) => `${x}=${weights[i]}`).join(' '));
    // Servers added one by one: the first scan is the cw = 1 pass over every server.
    t.equal(b.picks(n, false), [...names].reverse().join(' '), 'first pass at cw = 1');
    const g = weights.reduce((a, w) => {
      while (w) [a, w] = [w, a % w];
      return a;
    });
    const cycle = weights.reduce((a, w) => a + w, 0) / g;
    const cycles = 7;
    const counts = new Map<string, number>();
    for (const x of b.picks(cycle * cycles, false).split(' ')) counts.set(x, (counts.get(x) ?? 0) + 1);
    t.same(
      names.map((x) => counts.get(x) ?? 0),
      weights.map((w) => (w / g) * cycles),
      `weights ${weights.join(':')}`,
    );
  }
});
