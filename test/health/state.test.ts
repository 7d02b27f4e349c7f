// The per-server state machine: `retries` consecutive failures take a server down (never
// fewer), `rise` consecutive successes bring it back (a failure starts over, so a flapping
// server never re-enters early), alpha servers start down until their first success,
// several checks must all pass, and the running weight from agent percent, misc_dynamic
// absolute weights, drain and nanny's ramp.
import t from 'tap';
import { dynamicWeight, rampedWeight, ServerHealth, type CheckRules, type WeightFeedback } from '../../src/health/state.js';
import type { CheckResult } from '../../src/health/checker.js';

const id = { key: 'TCP 10.0.0.1:80 -> 10.0.1.1:80', service: 'TCP 10.0.0.1:80', server: '10.0.1.1:80' };
const rules = (r: Partial<CheckRules> = {}): CheckRules => ({ retries: 1, rise: 1, initiallyUp: true, ...r });
const ok = (extra: Partial<CheckResult> = {}): CheckResult => ({ ok: true, reason: 'ok', ms: 1, ...extra });
const fail = (reason = 'connect refused'): CheckResult => ({ ok: false, reason, ms: 1 });
const server = (checks: Partial<CheckRules>[], weight = 10, ramp = 0): ServerHealth =>
  new ServerHealth(id, weight, checks.map((c, i) => ({ rules: rules(c), label: `C${i}` })), 0, ramp);

t.test('down only at the retries-th consecutive failure, with the reason and the count', async (t) => {
  const h = server([{ retries: 3 }]);
  t.equal(h.up, true);
  t.equal(h.record(0, fail(), 1).transition, undefined);
  t.equal(h.record(0, fail(), 2).transition, undefined);
  t.ok(h.retrying(0), 'an up check that failed is retrying');
  const { transition } = h.record(0, fail('HTTP 503'), 3);
  t.strictSame(transition, { ...id, from: 'up', to: 'down', reason: 'C0: HTTP 503 (3 consecutive failures)', at: 3 });
  t.equal(h.up, false);
  t.equal(h.since, 3);
  t.equal(h.reason, 'C0: HTTP 503 (3 consecutive failures)');
  t.notOk(h.retrying(0), 'a down check is not retrying: it runs at its interval');
  t.equal(h.transitions, 1);
});

t.test('a success between failures starts the count over', async (t) => {
  const h = server([{ retries: 2 }]);
  for (let i = 0; i < 10; i++) {
    t.equal(h.record(0, fail(), i * 2).transition, undefined);
    t.equal(h.record(0, ok(), i * 2 + 1).transition, undefined);
  }
  t.equal(h.up, true);
});

t.test('back only after rise consecutive successes; a failure restarts the count (flapping never re-enters)', async (t) => {
  const h = server([{ retries: 1, rise: 5 }]);
  t.equal(h.record(0, fail(), 1).transition?.to, 'down');
  // Four good, one bad, forever: never back.
  let at = 2;
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 4; i++) t.equal(h.record(0, ok(), at++).transition, undefined);
    t.equal(h.record(0, fail(), at++).transition, undefined);
  }
  t.equal(h.up, false);
  for (let i = 0; i < 4; i++) t.equal(h.record(0, ok(), at++).transition, undefined);
  const { transition } = h.record(0, ok(), at);
  t.strictSame(transition, { ...id, from: 'down', to: 'up', reason: 'C0: 5 consecutive successes', at });
  t.equal(h.reason, '');
});

t.test('alpha: down until the first success, however large rise is (nanny counter starts at countThresh)', async (t) => {
  const h = server([{ initiallyUp: false, rise: 18 }]);
  t.equal(h.up, false);
  t.equal(h.reason, 'not checked yet');
  t.equal(h.record(0, ok(), 1).transition?.to, 'up');
  // A failure first: the full rise is needed after it.
  const h2 = server([{ initiallyUp: false, rise: 3 }]);
  h2.record(0, fail(), 1);
  t.equal(h2.record(0, ok(), 2).transition, undefined);
  t.equal(h2.record(0, ok(), 3).transition, undefined);
  t.equal(h2.record(0, ok(), 4).transition?.to, 'up');
});

t.test('several checks: up only while all pass; one transition per change of the whole', async (t) => {
  const h = server([{ retries: 1 }, { retries: 2 }]);
  t.equal(h.record(1, fail(), 1).transition, undefined);
  t.equal(h.record(1, fail('HTTP 500'), 2).transition?.reason, 'C1: HTTP 500 (2 consecutive failures)');
  t.equal(h.record(0, fail(), 3).transition, undefined, 'already down: no second event');
  t.equal(h.record(1, ok(), 4).transition, undefined, 'C0 still down');
  t.equal(h.record(0, ok(), 5).transition?.to, 'up');
  t.strictSame(h.checkStatus(0), { up: true, failures: 0, successes: 1, last: { ok: true, reason: 'ok', ms: 1, at: 5 }, feedback: { drain: false } });
  t.strictSame(h.lastResult(), { ok: true, reason: 'ok', ms: 1, at: 5 });
});

t.test('dynamicWeight: agent percent of the configured weight within 0..configured, misc_dynamic absolute, drain', async (t) => {
  const f = (x: Partial<WeightFeedback>): WeightFeedback => ({ drain: false, ...x });
  t.equal(dynamicWeight(10, []), 10);
  t.equal(dynamicWeight(10, [f({ percent: 50 })]), 5);
  t.equal(dynamicWeight(10, [f({ percent: 33 })]), 3, 'rounded');
  t.equal(dynamicWeight(10, [f({ percent: 150 })]), 10, 'never above the configured weight');
  t.equal(dynamicWeight(10, [f({ percent: 0 })]), 0);
  t.equal(dynamicWeight(10, [f({ percent: 50, drain: true })]), 0);
  t.equal(dynamicWeight(10, [f({ weight: 300 })]), 300, 'misc_dynamic is absolute');
  t.equal(dynamicWeight(10, [f({ weight: 200 }), f({ weight: 100 })]), 300, 'several misc_dynamic checks add up (keepalived)');
  t.equal(dynamicWeight(10, [f({ weight: 70000 })]), 65535);
  t.equal(dynamicWeight(10, [f({ weight: 300 }), f({ percent: 50 })]), 150, 'percent of the absolute weight');
});

t.test('percent and weight stick until the check gives new ones; drain only while said; misc weight clamped 0..65535', async (t) => {
  const h = server([{}], 10);
  let r = h.record(0, ok({ percent: 50 }), 1);
  t.equal(h.weight, 5);
  t.ok(r.weightChanged);
  r = h.record(0, ok(), 2);
  t.equal(h.weight, 5, 'a plain success ("up") keeps the last percent');
  t.notOk(r.weightChanged);
  // The agent checker reports drain with weight 0: the 0 must not outlive the drain.
  h.record(0, ok({ drain: true, weight: 0 }), 3);
  t.equal(h.weight, 0);
  t.equal(h.up, true, 'drained is still up');
  h.record(0, ok({ drain: true, weight: 0 }), 4);
  t.equal(h.weight, 0, 'drained while the agent says so');
  h.record(0, ok(), 5);
  t.equal(h.weight, 5, '"ready": back to the last percent');
  h.record(0, ok({ drain: true, weight: 0 }), 6);
  h.record(0, ok({ percent: 80 }), 7);
  t.equal(h.weight, 8, 'a new percent ends it too');
  h.record(0, ok({ drain: true }), 8);
  h.record(0, fail(), 9);
  t.equal(h.checkStatus(0)?.feedback.drain, true, 'a failure says nothing about the weight');
  const m = server([{}], 10);
  m.record(0, ok({ weight: -5 }), 1);
  t.equal(m.weight, 0);
  m.record(0, ok({ weight: 1e9 }), 2);
  t.equal(m.weight, 65535);
  m.record(0, ok({ weight: Number.NaN }), 3);
  t.equal(m.weight, 65535, 'garbage ignored');
});

t.test('nanny ramp: max(1, W>>5) after re-entry, doubling every step up to W; none at start', async (t) => {
  t.equal(rampedWeight(100, 0, 20000), 3);
  t.equal(rampedWeight(100, 19999, 20000), 3);
  t.equal(rampedWeight(100, 20000, 20000), 6);
  t.equal(rampedWeight(100, 100000, 20000), 96);
  t.equal(rampedWeight(100, 120000, 20000), 100);
  t.equal(rampedWeight(2, 0, 20000), 1);
  t.equal(rampedWeight(65535, 1e12, 20000), 65535);
  const h = server([{}], 100, 20000);
  t.equal(h.weight, 100, 'up from the start: full weight');
  h.record(0, fail(), 1000);
  h.record(0, ok(), 2000);
  t.equal(h.weight, 3);
  t.ok(h.record(0, ok(), 22000).weightChanged);
  t.equal(h.weight, 6);
  h.record(0, ok(), 500000);
  t.equal(h.weight, 100);
});

t.test('reconfigure keeps counters of kept checks; new checks follow the server state; weight follows', async (t) => {
  const h = server([{ retries: 3 }], 10);
  h.record(0, fail(), 1);
  h.record(0, fail(), 2);
  t.equal(h.reconfigure(20, [{ rules: rules({ retries: 3 }), label: 'C0', kept: 0 }, { rules: rules(), label: 'new' }], 3), undefined);
  t.equal(h.weight, 20);
  t.equal(h.checkStatus(0)?.failures, 2, 'kept check keeps its count');
  t.equal(h.record(0, fail(), 4).transition?.to, 'down');
  // A new (or changed) check on a down server needs its full rise: no early re-entry through a reload.
  const up = h.reconfigure(20, [{ rules: rules({ rise: 2 }), label: 'new' }], 5);
  t.equal(up, undefined, 'the new check has not passed yet');
  t.equal(h.record(0, ok(), 6).transition, undefined);
  t.equal(h.record(0, ok(), 7).transition?.to, 'up');
});
