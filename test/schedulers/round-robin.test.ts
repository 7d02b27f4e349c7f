// rr and wrr: every worked example of schedulers.md §1 and §2 as exact pick sequences,
// the hooks (rr: removal moves the cursor back; wrr: every change resets the cursor and
// keeps cw), a pick that gives up, and wrr's exact proportions over whole cycles.
import t from 'tap';
import { Bench, runScenarios, seeded, type Scenario } from './fixtures/bench.js';

const scenarios: Scenario[] = [
  { name: '§1 weights 1', scheduler: 'rr', added: 'A=1 B=1 C=1', steps: ['C B A C B A C'] },
  { name: '§1 B at weight 0', scheduler: 'rr', added: 'A=1 B=0 C=1', steps: ['C A C A C'] },
  // Removing the server under the cursor continues with the next one; a new server (head) comes at the wrap.
  { name: 'removal and addition', scheduler: 'rr', added: 'A=1 B=1 C=1', steps: ['C B', (b) => b.remove('B'), 'A C A', (b) => b.add('D', 1), 'D C A D'] },
  { name: '§2 A=3 B=2 C=1', scheduler: 'wrr', added: 'A=3 B=2 C=1', steps: ['C B A A B A C B A A B A'] },
  { name: '§2 A=4 B=3 C=2', scheduler: 'wrr', added: 'A=4 B=3 C=2', steps: ['C B A A B A C B A C B A A B A C B A C B A'] },
  { name: '§2 A=2 B=4 C=6 (di 2)', scheduler: 'wrr', added: 'A=2 B=4 C=6', steps: ['C B A C C B C B A C C B'] },
  { name: '§2 A=1 B=1', scheduler: 'wrr', added: 'A=1 B=1', steps: ['B A B A'] },
  { name: '§2 A=1 B=0 C=1', scheduler: 'wrr', added: 'A=1 B=0 C=1', steps: ['C A C A'] },
  { name: '§2 A=3 alone, then B=2, C=1', scheduler: 'wrr', added: 'A=3', steps: ['A', (b) => (b.add('B', 2), b.add('C', 1)), 'C B A A B A'] },
  { name: '§2 A=5 OVERLOAD, B=1', scheduler: 'wrr', added: 'A=5 B=1', overloaded: 'A', steps: ['B B B'] },
  { name: '§2 all weights 0', scheduler: 'wrr', added: 'A=0 B=0', steps: ['- -'] },
  { name: 'all OVERLOAD', scheduler: 'wrr', added: 'A=2 B=1', overloaded: 'A B', steps: ['- - -'] },
  // cw=2: B skipped (OVERLOAD), A; cw=1: C, A. The edit resets the cursor, cw stays 1.
  {
    name: 'OVERLOAD mid-cycle, then an edit',
    scheduler: 'wrr',
    added: 'A=3 B=2 C=1',
    steps: ['C B A A', (b) => b.overload('B'), 'A C A', (b) => (b.overload('B', false), b.edit('C', 1)), 'C B A A'],
  },
  // From B: cw 1 -> restart at 3, then 2, then the cw = 1 pass ends at B: cursor B, cw 1 (not the head at cw 3).
  {
    name: 'everything OVERLOAD after a restart: stops at the start',
    scheduler: 'wrr',
    added: 'A=3 B=2 C=1',
    steps: ['C B', (b) => 'ABC'.split('').forEach((x) => b.overload(x)), '-', (b) => 'ABC'.split('').forEach((x) => b.overload(x, false)), 'A A B A'],
  },
  { name: 'removing the server under the cursor: back to the head', scheduler: 'wrr', added: 'A=1 B=1 C=1', steps: ['C B', (b) => b.remove('B'), 'C A C A'] },
];

t.test('worked examples and hooks', async (t) => runScenarios(t, scenarios));

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
