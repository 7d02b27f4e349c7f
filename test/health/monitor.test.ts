// The monitor on a fake clock with fake checkers: down within interval x retries + timeout
// of the first failure and not before the retries-th failure; back only after the re-entry
// successes; flapping never re-enters; 300 servers on a 1 s interval never exceed the
// concurrency bound and none is starved; a checker that hangs is aborted at its timeout,
// one that throws, rejects or returns garbage is a failure with a reason, and the monitor
// keeps going; update() keeps the state of servers that stay; stop() ends everything.
import t from 'tap';
import type { HealthCheck } from '../../src/config/model.js';
import type { Checker, CheckResult, CheckTarget } from '../../src/health/checker.js';
import { HealthMonitor, type MonitorClock, type MonitorOptions } from '../../src/health/monitor.js';
import type { TransitionEvent } from '../../src/health/state.js';
import type { CheckSchedule, WatchSpec } from '../../src/health/watches.js';

/** Timers in a heap, run in time order; promises settle between instants. */
class FakeClock implements MonitorClock {
  private t = 0;
  private seq = 0;
  private heap: { at: number; id: number; fn: () => void }[] = [];
  private live = new Set<number>();

  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.live.add(id);
    this.push({ at: this.t + Math.max(0, ms), id, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.live.delete(handle as number);
  }
  /** Moves time forward by `ms`, running every timer due on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      while (this.heap.length > 0 && !this.live.has(this.heap[0]!.id)) this.pop();
      const next = this.heap[0];
      if (!next || next.at > end) break;
      this.t = next.at;
      // Everything due at this instant, then let promises settle.
      while (this.heap.length > 0 && this.heap[0]!.at === this.t) {
        const timer = this.pop();
        if (this.live.delete(timer.id)) timer.fn();
      }
      await settle();
    }
    this.t = end;
    await settle();
  }
  private less(a: number, b: number): boolean {
    const x = this.heap[a]!;
    const y = this.heap[b]!;
    return x.at < y.at || (x.at === y.at && x.id < y.id);
  }
  private swap(a: number, b: number): void {
    [this.heap[a], this.heap[b]] = [this.heap[b]!, this.heap[a]!];
  }
  private push(timer: { at: number; id: number; fn: () => void }): void {
    this.heap.push(timer);
    for (let i = this.heap.length - 1; i > 0 && this.less(i, (i - 1) >> 1); i = (i - 1) >> 1) this.swap(i, (i - 1) >> 1);
  }
  private pop(): { at: number; id: number; fn: () => void } {
    const top = this.heap[0]!;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.heap.length && this.less(l, m)) m = l;
        if (r < this.heap.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

type Behaviour = 'ok' | 'fail' | 'hang' | 'throw' | 'reject' | 'garbage' | CheckResult;

/** Fake servers: what each address answers, how long it takes, and what was asked when. */
class FakeServers {
  behaviour = new Map<string, Behaviour>();
  latencyMs = 50;
  inFlight = 0;
  maxInFlight = 0;
  runs = new Map<string, number[]>();
  signals: AbortSignal[] = [];

  constructor(private readonly clock: FakeClock) {}

  factory = (spec: HealthCheck): Checker => ({ kind: spec.kind, run: (target, signal) => this.run(target, signal) });

  private run(target: CheckTarget, signal: AbortSignal): Promise<CheckResult> {
    const what = this.behaviour.get(target.address) ?? 'ok';
    (this.runs.get(target.address) ?? this.runs.set(target.address, []).get(target.address)!).push(this.clock.now());
    this.signals.push(signal);
    if (what === 'throw') throw new Error('checker bug');
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise<CheckResult>((resolve, reject) => {
      const done = (): void => {
        this.inFlight--;
      };
      if (what === 'hang') {
        // Never answers; only notes the abort.
        signal.addEventListener('abort', done, { once: true });
        return;
      }
      this.clock.setTimeout(() => {
        done();
        if (what === 'reject') reject(new Error('socket exploded'));
        else if (what === 'garbage') resolve('yes' as unknown as CheckResult);
        else if (what === 'ok') resolve({ ok: true, reason: 'connected', ms: this.latencyMs });
        else if (what === 'fail') resolve({ ok: false, reason: 'connect refused', ms: this.latencyMs });
        else resolve(what);
      }, this.latencyMs);
    });
  }
}

function schedule(address: string, o: Partial<CheckSchedule> & { retries?: number; rise?: number; alpha?: boolean } = {}): CheckSchedule {
  const { retries = 1, rise = 1, alpha = false, ...rest } = o;
  return {
    spec: { kind: 'tcp' },
    protocol: 'tcp',
    target: { address, port: 80 },
    label: 'TCP_CHECK',
    intervalMs: 1000,
    timeoutMs: 1000,
    retryDelayMs: 1000,
    warmupMs: 1000,
    rules: { retries, rise, initiallyUp: !alpha },
    ...rest,
  };
}

function watch(address: string, o: Parameters<typeof schedule>[1] = {}, weight = 1): WatchSpec {
  return { key: `TCP 10.0.0.1:80 -> ${address}:80`, service: 'TCP 10.0.0.1:80', server: `${address}:80`, weight, rampStepMs: 0, checks: [schedule(address, o)] };
}

function setup(options: Partial<MonitorOptions> = {}) {
  const clock = new FakeClock();
  const servers = new FakeServers(clock);
  const events: TransitionEvent[] = [];
  let changes = 0;
  const monitor = new HealthMonitor({
    createChecker: servers.factory,
    clock,
    random: () => 0.5,
    onTransition: (e) => events.push(e),
    onChange: () => changes++,
    ...options,
  });
  return { clock, servers, events, monitor, changes: () => changes };
}

t.test('keepalived-like (retries 3): down within interval x retries + timeout, at the 3rd consecutive failure, not before', async (t) => {
  const { clock, servers, events, monitor } = setup();
  const interval = 2000;
  const timeout = 700;
  const retries = 3;
  monitor.update([watch('10.0.1.1', { intervalMs: interval, timeoutMs: timeout, retryDelayMs: 1000, retries })]);
  await clock.advance(10_000);
  t.strictSame(events, []);
  // The server stops answering (worst case: it hangs, so each check takes the full timeout).
  const failedAt = clock.now() + 123;
  await clock.advance(123);
  servers.behaviour.set('10.0.1.1', 'hang');
  const before = servers.runs.get('10.0.1.1')!.length;
  await clock.advance(20_000);
  t.equal(events.length, 1);
  const down = events[0]!;
  t.equal(down.to, 'down');
  t.match(down.reason, /^TCP_CHECK: timed out after 0\.7 s \(3 consecutive failures\)$/);
  t.ok(down.at <= failedAt + interval * retries + timeout, `down at ${down.at - failedAt} ms after the failure (bound ${interval * retries + timeout})`);
  const failing = servers.runs.get('10.0.1.1')!.slice(before);
  t.ok(failing.length >= retries);
  t.equal(down.at, failing[retries - 1]! + timeout, 'exactly when the 3rd failing check timed out');
  // Retries are spaced by delay_before_retry (1 s start to start), not the interval.
  t.equal(failing[1]! - failing[0]!, 1000);
  t.equal(failing[2]! - failing[1]!, 1000);
  t.equal(failing[3]! - failing[2]!, interval, 'once down, back to the interval');
  t.strictSame(monitor.counters().transitions, { down: 1, up: 0 });
  t.ok(monitor.counters().checks.timedOut >= retries, 'each hung check counted as timed out');
  monitor.stop();
});

t.test('the bound holds wherever in the period the server dies (retries 2, hung checks)', async (t) => {
  const interval = 1000;
  const timeout = 400;
  for (let offset = 0; offset < interval; offset += 125) {
    const { clock, servers, events, monitor } = setup({ random: () => 0 });
    monitor.update([watch('10.0.1.1', { intervalMs: interval, timeoutMs: timeout, retryDelayMs: interval, retries: 2 })]);
    await clock.advance(5_000 + offset);
    const failedAt = clock.now();
    servers.behaviour.set('10.0.1.1', 'hang');
    await clock.advance(10_000);
    t.ok(events[0] && events[0].at - failedAt <= interval * 2 + timeout, `died at +${offset} ms: down after ${events[0]!.at - failedAt} ms`);
    monitor.stop();
  }
});

t.test('nanny-like (timeout 2, reentry 10): out at the first failure within interval + timeout; back only after reentry', async (t) => {
  const { clock, servers, events, monitor } = setup();
  servers.latencyMs = 30;
  monitor.update([watch('10.0.1.1', { intervalMs: 2000, timeoutMs: 2000, retries: 1, rise: 5 })]);
  await clock.advance(7_000);
  const failedAt = clock.now();
  servers.behaviour.set('10.0.1.1', 'fail');
  await clock.advance(10_000);
  t.equal(events.length, 1);
  t.ok(events[0]!.at <= failedAt + 2000 + 2000);
  t.equal(events[0]!.reason, 'TCP_CHECK: connect refused');
  const recoveredAt = clock.now();
  servers.behaviour.set('10.0.1.1', 'ok');
  await clock.advance(30_000);
  t.equal(events.length, 2);
  const up = events[1]!;
  t.equal(up.to, 'up');
  t.equal(up.reason, 'TCP_CHECK: 5 consecutive successes');
  const good = servers.runs.get('10.0.1.1')!.filter((at) => at >= recoveredAt);
  t.equal(up.at, good[4]! + 30, 'at the end of the 5th good check');
  t.ok(up.at - recoveredAt >= 4 * 2000, 'not before reentry (5 checks 2 s apart)');
  monitor.stop();
});

t.test('a flapping server never re-enters early; it comes back once steady for the reentry', async (t) => {
  const { clock, servers, events, monitor } = setup();
  monitor.update([watch('10.0.1.1', { retries: 1, rise: 4 })]);
  servers.behaviour.set('10.0.1.1', 'fail');
  await clock.advance(3_000);
  t.equal(events.length, 1);
  // Good for 3 checks, bad for 1, for two minutes.
  for (let i = 0; i < 30; i++) {
    servers.behaviour.set('10.0.1.1', 'ok');
    await clock.advance(3_000);
    servers.behaviour.set('10.0.1.1', 'fail');
    await clock.advance(1_000);
  }
  t.equal(events.length, 1, 'never back while flapping');
  servers.behaviour.set('10.0.1.1', 'ok');
  await clock.advance(5_000);
  t.equal(events.length, 2);
  t.equal(events[1]!.to, 'up');
  monitor.stop();
});

t.test('300 servers x 1 s: never more than the bound in flight, starts spread, every server checked about once a second', async (t) => {
  const addresses = Array.from({ length: 300 }, (_, i) => `10.0.${1 + (i >> 8)}.${i & 255}`);
  for (const [latency, bound] of [
    [50, 64],
    [400, 64],
  ] as const) {
    let r = 0x9e3779b9;
    const random = (): number => ((r = (Math.imul(r, 1664525) + 1013904223) >>> 0), r / 2 ** 32);
    const { clock, servers, monitor } = setup({ concurrency: bound, random });
    servers.latencyMs = latency;
    monitor.update(addresses.map((a) => watch(a)));
    const seconds = 120;
    await clock.advance(seconds * 1000);
    t.ok(servers.maxInFlight <= bound, `latency ${latency} ms: at most ${servers.maxInFlight} in flight (bound ${bound})`);
    const counts = addresses.map((a) => servers.runs.get(a)?.length ?? 0);
    const min = Math.min(...counts);
    const max = Math.max(...counts);
    if (latency === 50) {
      t.equal(servers.maxInFlight < bound, true, 'room to spare: never queued');
      t.ok(min >= seconds - 1 && max <= seconds, `every server checked ${min}..${max} times in ${seconds} s`);
      // Spread: no 100 ms slice holds more than a fifth of the checks of a second.
      const slices = new Map<number, number>();
      for (const a of addresses) for (const at of servers.runs.get(a)!) slices.set(Math.floor(at / 100), (slices.get(Math.floor(at / 100)) ?? 0) + 1);
      t.ok(Math.max(...slices.values()) <= 60, `busiest 100 ms slice: ${Math.max(...slices.values())} starts`);
    } else {
      // 300 x 0.4 s of work a second over 64 slots: saturated, every server still gets its turn.
      t.equal(servers.maxInFlight, bound, 'saturated');
      t.ok(min >= 0.9 * max && min > 0, `fair: every server checked ${min}..${max} times`);
      t.ok(min >= Math.floor((seconds * bound) / 0.4 / 300) - 3, `throughput as the bound allows (${min})`);
    }
    t.strictSame(monitor.counters().transitions, { down: 0, up: 0 }, 'queue waits do not count as failures');
    monitor.stop();
    t.equal(monitor.counters().inFlight, 0);
  }
});

t.test('a checker that never resolves is aborted at its timeout and counted as a failure with a reason', async (t) => {
  const { clock, servers, events, monitor } = setup({ random: () => 0 });
  servers.behaviour.set('10.0.1.1', 'hang');
  monitor.update([watch('10.0.1.1', { timeoutMs: 1500, intervalMs: 5000 })]);
  await clock.advance(1499);
  t.equal(servers.signals.length, 1);
  t.equal(servers.signals[0]!.aborted, false);
  t.equal(monitor.counters().inFlight, 1);
  await clock.advance(1);
  t.equal(servers.signals[0]!.aborted, true, 'aborted at exactly the timeout');
  t.equal(monitor.counters().inFlight, 0, 'its slot is free');
  t.equal(events.length, 1);
  t.equal(events[0]!.reason, 'TCP_CHECK: timed out after 1.5 s');
  const status = monitor.status()[0]!;
  t.match(status, { state: 'down', since: 1500, reason: 'TCP_CHECK: timed out after 1.5 s', last: { ok: false, reason: 'timed out after 1.5 s', ms: 1500, at: 1500 } });
  t.match(monitor.counters().checks, { run: 1, failed: 1, timedOut: 1 });
  monitor.stop();
});

t.test('a checker that throws, rejects or returns garbage: a failure with a reason, and checking goes on', async (t) => {
  for (const [how, reason] of [
    ['throw', 'checker error: checker bug'],
    ['reject', 'checker error: socket exploded'],
    ['garbage', 'checker returned no result'],
  ] as const) {
    const { clock, servers, events, monitor } = setup({ random: () => 0 });
    servers.behaviour.set('10.0.1.1', how);
    monitor.update([watch('10.0.1.1'), watch('10.0.1.2')]);
    await clock.advance(10_000);
    t.equal(events.length, 1, how);
    t.equal(events[0]!.reason, `TCP_CHECK: ${reason}`);
    t.ok(servers.runs.get('10.0.1.1')!.length >= 9, `${how}: still checked every second`);
    t.ok(servers.runs.get('10.0.1.2')!.length >= 9, `${how}: the others too`);
    // Every finished run of the broken checker is counted as an error (one may still be in flight).
    const finished = servers.runs.get('10.0.1.1')!.filter((at) => how === 'throw' || at + servers.latencyMs <= clock.now());
    t.equal(monitor.counters().checks.errors, finished.length);
    servers.behaviour.set('10.0.1.1', 'ok');
    await clock.advance(2_000);
    t.equal(events.at(-1)!.to, 'up', `${how}: back when fixed`);
    monitor.stop();
  }
});

/** A callback that throws `message`. */
const throwing =
  (message: string) =>
  (): never => {
    throw new Error(message);
  };

t.test('a checker factory that throws gives a check that fails with the reason', async (t) => {
  const { clock, events, monitor } = setup({ random: () => 0, createChecker: throwing('bad regex "("') });
  monitor.update([watch('10.0.1.1')]);
  await clock.advance(100);
  t.equal(events[0]?.reason, 'TCP_CHECK: cannot check: bad regex "("');
  monitor.stop();
});

t.test('listeners that throw do not stop the monitor', async (t) => {
  const { clock, servers, monitor } = setup({ random: () => 0, onTransition: throwing('log full'), onChange: throwing('install failed') });
  servers.behaviour.set('10.0.1.1', 'fail');
  monitor.update([watch('10.0.1.1')]);
  await clock.advance(5_000);
  t.equal(monitor.status()[0]!.state, 'down');
  t.ok(servers.runs.get('10.0.1.1')!.length >= 5);
  monitor.stop();
});

t.test('a listener may update() or stop() the monitor from inside an event', async (t) => {
  const clock = new FakeClock();
  const servers = new FakeServers(clock);
  servers.behaviour.set('10.0.1.1', 'fail');
  const monitor: HealthMonitor = new HealthMonitor({ createChecker: servers.factory, clock, random: () => 0, onTransition: () => monitor.update([watch('10.0.1.2')]) });
  monitor.update([watch('10.0.1.1'), watch('10.0.1.2')]);
  await clock.advance(5_000);
  t.strictSame(servers.runs.get('10.0.1.1'), [0], 'the server dropped by its own event is not checked again');
  t.ok(servers.runs.get('10.0.1.2')!.length >= 5);
  t.match(monitor.counters(), { watched: 1, transitions: { down: 1 } });
  monitor.stop();
});

t.test('alpha servers start down and come in at their first success; the first runs are spread over the warmup', async (t) => {
  const { clock, events, monitor, servers } = setup({ random: () => 0.25 });
  monitor.update([watch('10.0.1.1', { alpha: true, rise: 10, warmupMs: 4000 })]);
  t.equal(monitor.view().get('TCP 10.0.0.1:80 -> 10.0.1.1:80')?.up, false);
  await clock.advance(999);
  t.equal(servers.runs.get('10.0.1.1'), undefined, 'first run at 0.25 x warmup');
  await clock.advance(1000);
  t.strictSame(servers.runs.get('10.0.1.1'), [1000]);
  t.equal(events[0]?.to, 'up');
  monitor.stop();
});

t.test('agent feedback moves the weight in the view and calls onChange; drain -> 0 while up', async (t) => {
  const { clock, servers, monitor, changes } = setup({ random: () => 0 });
  monitor.update([watch('10.0.1.1', {}, 10)]);
  const key = 'TCP 10.0.0.1:80 -> 10.0.1.1:80';
  t.strictSame(monitor.view().get(key), { up: true, weight: 10, reason: '' });
  servers.behaviour.set('10.0.1.1', { ok: true, reason: 'agent 50%', ms: 1, percent: 50 });
  await clock.advance(500);
  t.strictSame(monitor.view().get(key), { up: true, weight: 5, reason: '' });
  t.equal(changes(), 1);
  await clock.advance(3000);
  t.equal(changes(), 1, 'unchanged weight: no more calls');
  servers.behaviour.set('10.0.1.1', { ok: true, reason: 'agent: drain', ms: 1, drain: true, weight: 0 });
  await clock.advance(1000);
  t.strictSame(monitor.view().get(key), { up: true, weight: 0, reason: '' });
  t.match(monitor.status()[0], { state: 'up', weight: 0, configuredWeight: 10, checks: [{ kind: 'tcp', label: 'TCP_CHECK', target: '10.0.1.1:80', feedback: { drain: true, percent: 50 } }] });
  monitor.stop();
});

t.test('update(): servers that stay keep their state, removed ones stop, new ones start; changed checks restart', async (t) => {
  const { clock, servers, events, monitor } = setup({ random: () => 0 });
  servers.behaviour.set('10.0.1.1', 'fail');
  monitor.update([watch('10.0.1.1', { rise: 100 }), watch('10.0.1.2')]);
  await clock.advance(2_500);
  t.equal(events.length, 1);
  const since = monitor.status().find((s) => s.server === '10.0.1.1:80')!.since;
  servers.behaviour.set('10.0.1.1', 'ok');
  await clock.advance(2_000);
  // 10.0.1.1 stays (new weight), 10.0.1.2 goes, 10.0.1.3 comes.
  monitor.update([watch('10.0.1.1', { rise: 100 }, 7), watch('10.0.1.3')]);
  const one = monitor.status().find((s) => s.server === '10.0.1.1:80')!;
  t.match(one, { state: 'down', since, configuredWeight: 7, checks: [{ successes: 2 }] }, 'state and counters kept');
  const removedRuns = servers.runs.get('10.0.1.2')!.length;
  await clock.advance(5_000);
  t.equal(servers.runs.get('10.0.1.2')!.length, removedRuns, 'a removed server is no longer checked');
  t.ok(servers.runs.get('10.0.1.3')!.length >= 4);
  t.strictSame(monitor.status().map((s) => s.server).sort(), ['10.0.1.1:80', '10.0.1.3:80']);
  t.match(monitor.status().find((s) => s.server === '10.0.1.1:80'), { state: 'down', checks: [{ successes: 7 }] });
  // A changed check (new interval) restarts its schedule, the server keeps its state.
  monitor.update([watch('10.0.1.1', { rise: 100, intervalMs: 500 }), watch('10.0.1.3')]);
  t.match(monitor.status().find((s) => s.server === '10.0.1.1:80'), { state: 'down', since });
  const before = servers.runs.get('10.0.1.1')!.length;
  await clock.advance(2_000);
  t.ok(servers.runs.get('10.0.1.1')!.length - before >= 4, 'on the new interval');
  t.equal(events.length, 1, 'no transitions from updates');
  monitor.stop();
});

t.test('a server removed while its check is in flight frees the slot and ignores the late answer', async (t) => {
  const { clock, servers, events, monitor } = setup({ random: () => 0, concurrency: 1 });
  servers.latencyMs = 500;
  servers.behaviour.set('10.0.1.1', 'fail');
  monitor.update([watch('10.0.1.1'), watch('10.0.1.2')]);
  await clock.advance(100);
  t.equal(monitor.counters().inFlight, 1);
  t.equal(monitor.counters().queued, 1, 'the second waits for the one slot');
  monitor.update([watch('10.0.1.2')]);
  t.equal(servers.signals[0]!.aborted, true);
  await clock.advance(100);
  t.equal(servers.runs.get('10.0.1.2')?.length, 1, 'the freed slot went to the waiting check');
  await clock.advance(1000);
  t.strictSame(events, [], 'the late failure of the removed server is ignored');
  monitor.stop();
});

t.test('stop() clears timers and in-flight checks', async (t) => {
  const { clock, servers, monitor } = setup({ random: () => 0 });
  servers.behaviour.set('10.0.1.1', 'hang');
  monitor.update([watch('10.0.1.1'), watch('10.0.1.2')]);
  await clock.advance(10);
  monitor.stop();
  t.ok(servers.signals.every((s) => s.aborted));
  t.match(monitor.counters(), { inFlight: 0, queued: 0, watched: 0 });
  await clock.advance(10_000);
  t.equal(servers.runs.get('10.0.1.2')!.length, 1);
});
