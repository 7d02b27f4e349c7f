// Every scheduler, with every flag variant: servers that are OVERLOAD or at weight 0 get
// no new connection (§0.5, §0.6), whatever the flows; with nothing eligible every
// scheduler says "no destination"; a scheduler change (-E) builds its state from the
// current list.
import t from 'tap';
import { getScheduler, SCHED_F_FALLBACK, SCHED_F_PORT, schedulerNames } from '../../src/schedulers/index.js';
import { Bench, seeded } from './fixtures/bench.js';

const VARIANTS: [string, number][] = [
  ...schedulerNames().map((name): [string, number] => [name, 0]),
  ['sh', SCHED_F_FALLBACK],
  ['sh', SCHED_F_PORT],
  ['sh', SCHED_F_FALLBACK | SCHED_F_PORT],
  ['mh', SCHED_F_FALLBACK],
  ['mh', SCHED_F_PORT],
  ['mh', SCHED_F_FALLBACK | SCHED_F_PORT],
];
const HASHING_WITHOUT_FALLBACK = new Set(['dh', 'sh', 'mh']);

for (const [name, flags] of VARIANTS) {
  t.test(`${name} flags ${flags}: never an OVERLOAD or weight-0 server`, async (t) => {
    const rnd = seeded(name.length * 31 + flags);
    const b = new Bench(name, 'A=3 B=0 C=2 D=5 E=1 F=4', { flags, random: rnd });
    b.overload('D');
    b.overload('A');
    const counts: Record<string, number> = {};
    for (let i = 0; i < 3000; i++) {
      b.flow.caddr = Math.floor(rnd() * 2 ** 32);
      b.flow.cport = Math.floor(rnd() * 65536);
      b.flow.vaddr = Math.floor(rnd() * 2 ** 32);
      b.flow.now = i * 1000;
      const x = b.pick(rnd() < 0.7);
      counts[x] = (counts[x] ?? 0) + 1;
      // Half the time a held connection ends, so counts move both ways.
      if (rnd() < 0.5) for (const y of ['C', 'E', 'F']) if (b.active(y) > 0 && rnd() < 0.3) b.load(y, b.active(y) - 1);
    }
    t.notOk('A' in counts || 'B' in counts || 'D' in counts, `picks ${JSON.stringify(counts)}`);
    const served = (counts.C ?? 0) + (counts.E ?? 0) + (counts.F ?? 0);
    if (HASHING_WITHOUT_FALLBACK.has(name) && (flags & SCHED_F_FALLBACK) === 0) t.ok(counts['-']! > 0 && served > 0, 'keys of unavailable servers: no destination');
    else t.equal(served, 3000 - (counts['-'] ?? 0), 'served');
    if (name !== 'ovf' && !(HASHING_WITHOUT_FALLBACK.has(name) && (flags & SCHED_F_FALLBACK) === 0)) t.equal(counts['-'], undefined, 'always a destination');
  });
}

t.test('nothing eligible: every scheduler returns no destination', async (t) => {
  for (const [name, flags] of VARIANTS) {
    const b = new Bench(name, 'A=1 B=0 C=2', { flags });
    b.overload('A');
    b.overload('C');
    t.equal(b.picks(3), '- - -', `${name} flags ${flags}`);
    t.equal(new Bench(name, '', { flags }).picks(2), '- -', `${name} flags ${flags}, no servers`);
  }
});

t.test('a scheduler change (-E) rebuilds state from the current list', async (t) => {
  const b = new Bench('rr', 'A=1 B=2 C=3');
  for (const name of schedulerNames()) {
    b.svc.setScheduler(getScheduler(name));
    t.not(b.pick(false), '-', `${name} after -E`);
  }
  b.svc.setScheduler(getScheduler('wrr'));
  // Set up on a full list, wrr starts at cw = mw = 3: C | C B | C B A.
  t.equal(b.picks(6, false), 'C C B C B A', 'wrr from init: cw = mw');
});
