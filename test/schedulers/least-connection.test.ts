// lc, wlc, sed, nq, fo, ovf and twos: the worked examples of schedulers.md §3–§6 and
// §12–§14 as exact pick sequences (each pick becomes one active connection that stays),
// the numeric checks, and wlc converging to the weight ratio.
import t from 'tap';
import { Bench, runScenarios, seeded, type Scenario } from './fixtures/bench.js';

const scenarios: Scenario[] = [
  { name: '§3 idle, weights 1', scheduler: 'lc', added: 'A=1 B=1 C=1', steps: ['C B A C B A'] },
  { name: '§3 A 266, B 512, C 300', scheduler: 'lc', added: 'A=1 B=1 C=1', loads: 'A=1/10 B=2 C=0/300', steps: ['A'] },
  { name: '§4 A=1 B=2 C=3', scheduler: 'wlc', added: 'A=1 B=2 C=3', steps: ['C B A C B C C B A C B C'] },
  { name: '§4 numeric: A(w1) 266 vs B(w2) 512', scheduler: 'wlc', added: 'A=1 B=2', loads: 'A=1/10 B=2', steps: ['B'] },
  { name: 'UDP balances on inactive/weight', scheduler: 'wlc', added: 'A=1 B=2', loads: 'A=0/3 B=0/7', steps: ['A'] },
  { name: '§5 A=1 B=2 C=3', scheduler: 'sed', added: 'A=1 B=2 C=3', steps: ['C B C C B A C B C C B A'] },
  { name: 'inactive ignored', scheduler: 'sed', added: 'A=1 B=1', loads: 'B=0/1000', steps: ['B'] },
  { name: '§6 A=1 B=2 C=3', scheduler: 'nq', added: 'A=1 B=2 C=3', steps: ['C B A C C B C B C C B A'] },
  { name: 'an idle server wins at once, whatever its weight and inactive count', scheduler: 'nq', added: 'A=1 B=100', loads: 'A=0/50 B=1', steps: ['A'] },
  { name: '§12 A=1 B=3 C=2', scheduler: 'fo', added: 'A=1 B=3 C=2', steps: ['B B B B', (b) => b.edit('B', 0), 'C C C'] },
  { name: 'equal weights: first in list order', scheduler: 'fo', added: 'A=2 B=2', steps: ['B B'] },
  { name: '§13 A=2 B=1', scheduler: 'ovf', added: 'A=2 B=1', steps: ['A A A B B - -'] },
  { name: 'UDP (inactive only) never overflows', scheduler: 'ovf', added: 'A=2 B=1', hold: false, steps: ['A A A A A'] },
];

t.test('worked examples', async (t) => runScenarios(t, scenarios));

t.test('§4 after 12 wlc picks: C=6, B=4, A=2', async (t) => {
  const b = new Bench('wlc', 'A=1 B=2 C=3');
  b.picks(12);
  t.same([b.active('A'), b.active('B'), b.active('C')], [2, 4, 6]);
});

t.test('§14 twos with injected randoms: r1 = 0 -> C, r2 = 4 -> B; B wins (2*512 > 3*0)', async (t) => {
  const draws = [0, 4.5 / 7];
  const b = new Bench('twos', 'A=1 B=2 C=3', { random: () => draws.shift()! });
  b.load('C', 2);
  t.equal(b.pick(), 'B');
  t.same(draws, [], 'two draws');
});

t.test('twos: draws over 0..W inclusive, first eligible gets the extra unit; a tie keeps choice 1', async (t) => {
  // W = 6; draw r picks: 0,1 -> C... (C: r - 3 <= 0 for r <= 3), 4,5 -> B, 6 -> A.
  const expect = ['C', 'C', 'C', 'C', 'B', 'B', 'A'];
  for (let r = 0; r <= 6; r++) {
    const draws = [(r + 0.5) / 7, (r + 0.5) / 7];
    const b = new Bench('twos', 'A=1 B=2 C=3', { random: () => draws.shift()! });
    t.equal(b.pick(), expect[r], `draw ${r}`);
  }
  // Choice 1 = A (idle), choice 2 = C (idle): 3*0 > 1*0 is false, A stays.
  const draws = [6.5 / 7, 0];
  const b = new Bench('twos', 'A=1 B=2 C=3', { random: () => draws.shift()! });
  t.equal(b.pick(), 'A');
});

t.test('wlc with weights 1:2:3 and held connections keeps the 1:2:3 ratio', async (t) => {
  const b = new Bench('wlc', 'A=1 B=2 C=3');
  b.picks(600);
  t.same([b.active('A'), b.active('B'), b.active('C')], [100, 200, 300], 'exact after 600 picks');
  // Churn: a random held connection ends, a new one is scheduled, 5000 times.
  const rnd = seeded(5);
  const names = ['A', 'B', 'C'];
  let worst = 0;
  for (let i = 0; i < 5000; i++) {
    let k = Math.floor(rnd() * 600);
    const victim = names.find((x) => (k -= b.active(x)) < 0)!;
    b.load(victim, b.active(victim) - 1);
    b.pick();
    const perWeight = names.map((x, j) => b.active(x) / (j + 1));
    worst = Math.max(worst, Math.max(...perWeight) - Math.min(...perWeight));
  }
  t.ok(worst <= 1, `load per weight never spreads by more than 1 connection (spread ${worst})`);
  t.same([b.active('A'), b.active('B'), b.active('C')], [100, 200, 300], 'back to exactly 1:2:3');
});
