// The health monitor: runs every watched server's checks on its own timer and feeds the
// results to the server's state machine (state.ts), the one place transitions happen. The
// scheduling side of keepalived's check_daemon.c / check_api.c (one timer thread per
// checker, warmup spreading first runs) and of Piranha's nanny.c (one loop per server),
// with a bound on the checks in flight so hundreds of servers never stall the event loop.
//
// A check's next run starts `interval` after this one started (`delay before retry` while
// an up check is failing), never before this one ended; the first run comes at a random
// point within the warmup, so 300 servers on a 1 s interval are spread over the second.
// Due runs wait in one FIFO queue for one of `concurrency` slots, so none is starved.
// Each run is aborted at its timeout (AbortController) and counted as a failure with a
// reason; a checker that throws or rejects is a failure too — nothing escapes.

import type { HealthCheck } from '../config/model.js';
import type { Checker, CheckResult } from './checker.js';
import { ServerHealth, type CheckStatus, type LastResult, type ServerState, type TransitionEvent } from './state.js';
import type { CheckSchedule, WatchSpec } from './watches.js';

export type CheckerFactory = (spec: HealthCheck, protocol: 'tcp' | 'udp') => Checker;

/** Time and timers, injectable so tests run on a fake clock. */
export interface MonitorClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** setTimeout's largest delay (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: MonitorClock = {
  now: () => Date.now(),
  // Health timers alone must not keep a process alive; Node fires longer delays at once.
  setTimeout: (fn, ms) => setTimeout(fn, Math.min(ms, MAX_TIMER_MS)).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export const DEFAULT_CONCURRENCY = 64;

export interface MonitorOptions {
  createChecker: CheckerFactory;
  /** Checks in flight at most (default 64). */
  concurrency?: number;
  clock?: MonitorClock;
  /** 0 <= x < 1, for the warmup spread (default Math.random). */
  random?: () => number;
  /** Every up/down transition, once. */
  onTransition?: (event: TransitionEvent) => void;
  /** Something the effective table depends on changed (a transition or a server's weight). Not called from update(). */
  onChange?: () => void;
}

/** What the effective table needs to know of a watched server. */
export interface ServerVerdict {
  up: boolean;
  /** The weight it runs at while up (dynamic: agent, misc_dynamic, ramp). */
  weight: number;
  /** Why it is down ('' while up). */
  reason: string;
}

/** Watch key -> verdict; a server not in it is not watched (always up at its configured weight). */
export type HealthView = ReadonlyMap<string, ServerVerdict>;

export interface CheckListing extends CheckStatus {
  kind: string;
  label: string;
  target: string;
}

/** One server, for listings (uvsadm --health / --json). */
export interface ServerStatus {
  key: string;
  service: string;
  server: string;
  state: ServerState;
  /** Clock time of the last transition (or of when watching began), ms. */
  since: number;
  reason: string;
  weight: number;
  configuredWeight: number;
  transitions: number;
  last?: LastResult;
  checks: CheckListing[];
}

export interface MonitorCounters {
  /** Transitions by kind: down = up -> down, up = down -> up. */
  transitions: { down: number; up: number };
  checks: { run: number; passed: number; failed: number; timedOut: number; errors: number };
  inFlight: number;
  queued: number;
  watched: number;
}

interface ActiveRun {
  controller: AbortController;
  timeout: unknown;
  startedAt: number;
}

interface CheckRun {
  watch: Watched;
  index: number;
  schedule: CheckSchedule;
  checker: Checker;
  timer?: unknown;
  queued: boolean;
  active?: ActiveRun;
  stopped: boolean;
}

interface Watched {
  spec: WatchSpec;
  health: ServerHealth;
  runs: CheckRun[];
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err)) || 'unknown error';

/** A checker that cannot be built fails every run, saying why. */
function brokenChecker(kind: string, why: string): Checker {
  return { kind, run: async () => ({ ok: false, reason: `cannot check: ${why}`, ms: 0 }) };
}

/** The schedule's identity: an unchanged check keeps running across update(). */
const scheduleIdentity = (s: CheckSchedule): string => JSON.stringify(s);

export class HealthMonitor {
  private readonly watched = new Map<string, Watched>();
  private readonly queue: CheckRun[] = [];
  private inFlight = 0;
  private readonly clock: MonitorClock;
  private readonly random: () => number;
  private readonly concurrency: number;
  private readonly counts: MonitorCounters = { transitions: { down: 0, up: 0 }, checks: { run: 0, passed: 0, failed: 0, timedOut: 0, errors: 0 }, inFlight: 0, queued: 0, watched: 0 };

  constructor(private readonly options: MonitorOptions) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
  }

  /** Watch exactly these servers: new ones start fresh, removed ones stop, the rest keep their state. */
  update(watches: readonly WatchSpec[]): void {
    const now = this.clock.now();
    const next = new Set(watches.map((w) => w.key));
    for (const [key, w] of this.watched) {
      if (next.has(key)) continue;
      for (const run of w.runs) this.stopRun(run);
      this.watched.delete(key);
    }
    for (const spec of watches) {
      const old = this.watched.get(spec.key);
      if (old) this.rewatch(old, spec, now);
      else this.watch(spec, now);
    }
    // Stopped runs leave the queue now, so counters() tells what really waits.
    const waiting = this.queue.filter((run) => !run.stopped);
    this.queue.splice(0, this.queue.length, ...waiting);
    this.pump();
  }

  /** Stops every check and forgets every server. */
  stop(): void {
    for (const w of this.watched.values()) for (const run of w.runs) this.stopRun(run);
    this.watched.clear();
    this.queue.length = 0;
  }

  /** The verdict on every watched server, for effectiveTable(). */
  view(): HealthView {
    const view = new Map<string, ServerVerdict>();
    for (const [key, w] of this.watched) view.set(key, { up: w.health.up, weight: w.health.weight, reason: w.health.reason });
    return view;
  }

  status(): ServerStatus[] {
    return [...this.watched.values()].map(({ spec, health, runs }) => {
      const last = health.lastResult();
      return {
        key: spec.key,
        service: spec.service,
        server: spec.server,
        state: health.up ? 'up' : 'down',
        since: health.since,
        reason: health.reason,
        weight: health.weight,
        configuredWeight: health.configured,
        transitions: health.transitions,
        ...(last ? { last } : {}),
        checks: runs.map((run, i) => ({ kind: run.schedule.spec.kind, label: run.schedule.label, target: `${run.schedule.target.address}:${run.schedule.target.port}`, ...health.checkStatus(i)! })),
      };
    });
  }

  counters(): MonitorCounters {
    return { ...structuredClone(this.counts), inFlight: this.inFlight, queued: this.queue.length, watched: this.watched.size };
  }

  private watch(spec: WatchSpec, now: number): void {
    const health = new ServerHealth({ key: spec.key, service: spec.service, server: spec.server }, spec.weight, spec.checks, now, spec.rampStepMs);
    const w: Watched = { spec, health, runs: [] };
    w.runs = spec.checks.map((c, i) => this.newRun(w, i, c));
    this.watched.set(spec.key, w);
  }

  /** A server that stays: unchanged checks keep running (and their counters); changed ones restart. */
  private rewatch(w: Watched, spec: WatchSpec, now: number): void {
    const oldIds = w.runs.map((r) => scheduleIdentity(r.schedule));
    const taken = new Set<number>();
    const kept = spec.checks.map((c) => {
      const id = scheduleIdentity(c);
      const j = oldIds.findIndex((old, j) => old === id && !taken.has(j));
      if (j < 0) return undefined;
      taken.add(j);
      return j;
    });
    w.runs.forEach((run, j) => {
      if (!taken.has(j)) this.stopRun(run);
    });
    const transition = w.health.reconfigure(spec.weight, spec.checks.map((c, i) => ({ rules: c.rules, label: c.label, ...(kept[i] !== undefined ? { kept: kept[i] } : {}) })), now, spec.rampStepMs);
    const oldRuns = w.runs;
    w.spec = spec;
    w.runs = spec.checks.map((c, i) => {
      const j = kept[i];
      if (j === undefined) return this.newRun(w, i, c);
      const run = oldRuns[j]!;
      run.index = i;
      return run;
    });
    if (transition) this.emit(transition);
  }

  private newRun(watch: Watched, index: number, schedule: CheckSchedule): CheckRun {
    let checker: Checker;
    try {
      checker = this.options.createChecker(schedule.spec, schedule.protocol);
    } catch (err) {
      checker = brokenChecker(schedule.spec.kind, message(err));
    }
    const run: CheckRun = { watch, index, schedule, checker, queued: false, stopped: false };
    this.arm(run, Math.floor(this.random() * schedule.warmupMs));
    return run;
  }

  private arm(run: CheckRun, delayMs: number): void {
    // A listener may have stopped it (update() or stop() from onTransition).
    if (run.stopped) return;
    run.timer = this.clock.setTimeout(() => {
      run.timer = undefined;
      this.enqueue(run);
    }, Math.max(0, delayMs));
  }

  private enqueue(run: CheckRun): void {
    if (run.stopped || run.queued || run.active) return;
    run.queued = true;
    this.queue.push(run);
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.concurrency && this.queue.length > 0) {
      const run = this.queue.shift()!;
      run.queued = false;
      if (!run.stopped) this.start(run);
    }
  }

  private start(run: CheckRun): void {
    const startedAt = this.clock.now();
    const controller = new AbortController();
    const { timeoutMs, target } = run.schedule;
    const active: ActiveRun = { controller, startedAt, timeout: undefined };
    run.active = active;
    this.inFlight++;
    this.counts.checks.run++;
    active.timeout = this.clock.setTimeout(() => {
      this.finish(run, active, { ok: false, reason: `timed out after ${timeoutMs / 1000} s`, ms: timeoutMs }, 'timedOut');
      controller.abort(new Error('check timed out'));
    }, timeoutMs);
    let pending: Promise<CheckResult>;
    try {
      pending = Promise.resolve(run.checker.run({ ...target }, controller.signal));
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (result) => this.finish(run, active, result, 'result'),
      (err: unknown) => this.finish(run, active, { ok: false, reason: `checker error: ${message(err)}`, ms: this.clock.now() - startedAt }, 'errors'),
    );
  }

  /** A run's outcome; late outcomes of runs already timed out or stopped are ignored. */
  private finish(run: CheckRun, active: ActiveRun, raw: unknown, how: 'result' | 'timedOut' | 'errors'): void {
    if (run.active !== active) return;
    run.active = undefined;
    this.clock.clearTimeout(active.timeout);
    this.inFlight--;
    const now = this.clock.now();
    const result = this.normalize(raw, now - active.startedAt);
    if (how !== 'result') this.counts.checks[how]++;
    this.counts.checks[result.ok ? 'passed' : 'failed']++;
    const { health } = run.watch;
    const { transition, weightChanged } = health.record(run.index, result, now);
    if (transition) this.emit(transition);
    const period = health.retrying(run.index) ? run.schedule.retryDelayMs : run.schedule.intervalMs;
    this.arm(run, Math.max(active.startedAt + period, now) - now);
    this.pump();
    if (transition || weightChanged) this.notify(this.options.onChange);
  }

  /** Whatever a checker resolved with, as a result with a reason. */
  private normalize(raw: unknown, elapsedMs: number): CheckResult {
    const r = raw as Partial<CheckResult> | null | undefined;
    if (typeof r !== 'object' || r === null || typeof r.ok !== 'boolean') {
      this.counts.checks.errors++;
      return { ok: false, reason: 'checker returned no result', ms: elapsedMs };
    }
    const reason = typeof r.reason === 'string' && r.reason !== '' ? r.reason : r.ok ? 'ok' : 'failed';
    const ms = typeof r.ms === 'number' && Number.isFinite(r.ms) && r.ms >= 0 ? r.ms : elapsedMs;
    return { ...r, ok: r.ok, reason, ms };
  }

  private stopRun(run: CheckRun): void {
    run.stopped = true;
    if (run.timer !== undefined) this.clock.clearTimeout(run.timer);
    run.timer = undefined;
    if (run.active) {
      this.clock.clearTimeout(run.active.timeout);
      run.active.controller.abort(new Error('check no longer watched'));
      run.active = undefined;
      this.inFlight--;
    }
  }

  private emit(event: TransitionEvent): void {
    this.counts.transitions[event.to]++;
    this.notify(this.options.onTransition, event);
  }

  /** Listeners are the daemon's; one that throws must not stop the checks. */
  private notify<A extends unknown[]>(listener: ((...args: A) => void) | undefined, ...args: A): void {
    try {
      listener?.(...args);
    } catch {
      // The listener's own problem; the next event calls it again.
    }
  }
}
