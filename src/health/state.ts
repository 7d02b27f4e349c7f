// The one place where a real server goes up or down: a state machine per server over the
// results of its checks (keepalived check/ipwrapper.c update_svr_checker_state and
// check_api.c's per-checker retry counting; Piranha nanny.c's countThresh re-entry rule),
// plus the weight the server runs at (agent percent, MISC_CHECK misc_dynamic, nanny's
// slow-start ramp). Pure: time comes in as arguments, events go out as return values.
//
// Per check: while up, `retries` consecutive failures take it down; while down, `rise`
// consecutive successes bring it up (nanny: floor(reentry/timeout); keepalived: 1). A check
// that starts down (keepalived alpha) comes up on its first success, as nanny's counter
// starts at countThresh. Any failure resets the success count, so a flapping server never
// re-enters early. The server is up only while every one of its checks is up.

import type { CheckResult } from './checker.js';

export type ServerState = 'up' | 'down';

/** How one check's results turn into up/down. */
export interface CheckRules {
  /** Consecutive failures that take an up check down (>= 1). */
  retries: number;
  /** Consecutive successes that bring a down check back up (>= 1). */
  rise: number;
  /** false: down until its first success (keepalived alpha). */
  initiallyUp: boolean;
}

/** One transition of a real server: logged, counted and acted on by the effective table. */
export interface TransitionEvent {
  key: string;
  service: string;
  server: string;
  from: ServerState;
  to: ServerState;
  reason: string;
  /** Clock time, ms. */
  at: number;
}

export interface LastResult {
  ok: boolean;
  reason: string;
  ms: number;
  /** Clock time the check finished, ms. */
  at: number;
}

/** What a check's successes said about the server's weight. */
export interface WeightFeedback {
  /** Absolute weight (MISC_CHECK misc_dynamic: exit status - 2). */
  weight?: number;
  /** Share of the base weight, % (agent "75%"). */
  percent?: number;
  /** Agent "drain" in its last success: weight 0 while still up. */
  drain: boolean;
}

export interface CheckStatus {
  up: boolean;
  /** Consecutive failures / successes so far. */
  failures: number;
  successes: number;
  last?: LastResult;
  feedback: WeightFeedback;
}

export const MAX_WEIGHT = 65535;
/** nanny: the weight doubles about every 20 s after re-entry. */
export const NANNY_RAMP_STEP_MS = 20_000;

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/**
 * The weight a healthy server runs at: the sum of absolute weights its dynamic checks
 * report (keepalived adds several misc_dynamic offsets), else the configured weight; then
 * each agent percent of that, rounded and kept within 0..base; drain -> 0.
 */
export function dynamicWeight(configured: number, feedback: readonly WeightFeedback[]): number {
  const absolute = feedback.filter((f) => f.weight !== undefined);
  let weight = absolute.length > 0 ? clamp(absolute.reduce((sum, f) => sum + f.weight!, 0), 0, MAX_WEIGHT) : configured;
  const base = weight;
  for (const f of feedback) {
    if (f.drain) return 0;
    if (f.percent !== undefined) weight = clamp(Math.round((weight * f.percent) / 100), 0, base);
  }
  return weight;
}

/**
 * nanny's slow start after re-entry: max(1, W >> 5), doubling every `stepMs`, up to W.
 * `upForMs` is how long the server has been back.
 */
export function rampedWeight(weight: number, upForMs: number, stepMs: number): number {
  if (weight <= 0) return weight;
  const steps = Math.floor(Math.max(0, upForMs) / stepMs);
  const entry = Math.max(1, weight >> 5);
  // Beyond 16 doublings any entry weight has reached 65535.
  return Math.min(weight, entry * 2 ** Math.min(steps, 16));
}

interface CheckState extends CheckStatus {
  rules: CheckRules;
  /** Names the check in reasons (keepalived checker name or the model's kind). */
  label: string;
}

/** `oneSuccess`: a check that starts down comes up at its first success, like nanny's counter starting at countThresh. */
function freshCheck(rules: CheckRules, label: string, up: boolean, oneSuccess: boolean): CheckState {
  return { rules, label, up, failures: 0, successes: !up && oneSuccess ? Math.max(0, rules.rise - 1) : 0, feedback: { drain: false } };
}

/**
 * A success's word on the weight. Drain holds while the checker keeps saying it (an agent
 * answers its current state on every poll) and says nothing else: the weight 0 that comes
 * with it must not stick. Weight and percent stick until the check gives new ones
 * (keepalived misc_dynamic "exit 0 = weight unchanged", an agent's bare "up").
 */
function applyFeedback(f: WeightFeedback, r: CheckResult): void {
  f.drain = r.drain === true;
  if (f.drain) return;
  if (typeof r.weight === 'number' && Number.isFinite(r.weight)) f.weight = clamp(Math.round(r.weight), 0, MAX_WEIGHT);
  if (typeof r.percent === 'number' && Number.isFinite(r.percent)) f.percent = Math.max(0, r.percent);
}

export interface ServerIdentity {
  key: string;
  service: string;
  server: string;
}

/** The state of one real server: its checks' counters and the server-level verdict. */
export class ServerHealth {
  private checks: CheckState[];
  private state: ServerState;
  private sinceMs: number;
  /** When it last came back (for the ramp); undefined when it has been up from the start. */
  private recoveredAt: number | undefined;
  private currentWeight: number;
  private downReason = '';
  private transitionCount = 0;

  constructor(
    readonly id: ServerIdentity,
    private configuredWeight: number,
    checks: readonly { rules: CheckRules; label: string }[],
    now: number,
    private rampStepMs = 0,
  ) {
    this.checks = checks.map((c) => freshCheck(c.rules, c.label, c.rules.initiallyUp, true));
    this.state = this.allUp() ? 'up' : 'down';
    if (this.state === 'down') this.downReason = 'not checked yet';
    this.sinceMs = now;
    this.currentWeight = this.computeWeight(now);
  }

  get up(): boolean {
    return this.state === 'up';
  }
  get since(): number {
    return this.sinceMs;
  }
  /** The weight the server runs at while up (0..65535). */
  get weight(): number {
    return this.currentWeight;
  }
  get reason(): string {
    return this.state === 'down' ? this.downReason : '';
  }
  get transitions(): number {
    return this.transitionCount;
  }
  get configured(): number {
    return this.configuredWeight;
  }

  /** True while check `i` is up but has failed: the next attempt is a retry (delay_before_retry). */
  retrying(i: number): boolean {
    const c = this.checks[i];
    return c !== undefined && c.up && c.failures > 0;
  }

  checkStatus(i: number): CheckStatus | undefined {
    const c = this.checks[i];
    return c && { up: c.up, failures: c.failures, successes: c.successes, ...(c.last ? { last: { ...c.last } } : {}), feedback: { ...c.feedback } };
  }

  /** The most recent result of any check. */
  lastResult(): LastResult | undefined {
    let last: LastResult | undefined;
    for (const c of this.checks) if (c.last && (!last || c.last.at >= last.at)) last = c.last;
    return last && { ...last };
  }

  /**
   * Feeds one result of check `i`. Returns the transition it caused, if any; `weightChanged`
   * says whether the running weight moved (agent/misc_dynamic feedback or the ramp).
   */
  record(i: number, result: CheckResult, at: number): { transition?: TransitionEvent; weightChanged: boolean } {
    const c = this.checks[i];
    if (!c) return { weightChanged: false };
    c.last = { ok: result.ok, reason: result.reason, ms: result.ms, at };
    if (result.ok) {
      c.failures = 0;
      c.successes++;
      applyFeedback(c.feedback, result);
      if (!c.up && c.successes >= c.rules.rise) c.up = true;
    } else {
      c.successes = 0;
      c.failures++;
      if (c.up && c.failures >= c.rules.retries) {
        c.up = false;
        this.downReason = `${c.label}: ${result.reason || 'failed'}${c.failures > 1 ? ` (${c.failures} consecutive failures)` : ''}`;
      }
    }
    const transition = this.settle(at, c);
    const weight = this.computeWeight(at);
    const weightChanged = weight !== this.currentWeight;
    this.currentWeight = weight;
    return { ...(transition ? { transition } : {}), weightChanged };
  }

  /**
   * The configuration changed but the server stays: a new configured weight, and the
   * checks listed again (`kept` = index of the old check it continues, else a new one,
   * which starts up if the server is up, else down needing its full rise: a changed
   * check must not let a down server skip its re-entry).
   */
  reconfigure(weight: number, checks: readonly { rules: CheckRules; label: string; kept?: number }[], now: number, rampStepMs = this.rampStepMs): TransitionEvent | undefined {
    this.configuredWeight = weight;
    this.rampStepMs = rampStepMs;
    this.checks = checks.map((c) => {
      const old = c.kept !== undefined ? this.checks[c.kept] : undefined;
      return old ? { ...old, rules: c.rules, label: c.label } : freshCheck(c.rules, c.label, this.up, false);
    });
    const transition = this.settle(now);
    this.currentWeight = this.computeWeight(now);
    return transition;
  }

  private allUp(): boolean {
    return this.checks.every((c) => c.up);
  }

  private settle(at: number, last?: CheckState): TransitionEvent | undefined {
    const to: ServerState = this.allUp() ? 'up' : 'down';
    if (to === this.state) return undefined;
    const from = this.state;
    this.state = to;
    this.sinceMs = at;
    this.transitionCount++;
    let reason: string;
    if (to === 'up') {
      this.recoveredAt = at;
      reason = last ? `${last.label}: ${last.successes} consecutive success${last.successes === 1 ? '' : 'es'}` : 'checks changed';
    } else {
      reason = this.downReason || 'checks changed';
    }
    return { ...this.id, from, to, reason, at };
  }

  private computeWeight(now: number): number {
    const weight = dynamicWeight(this.configuredWeight, this.checks.map((c) => c.feedback));
    if (this.rampStepMs <= 0 || this.recoveredAt === undefined) return weight;
    return rampedWeight(weight, now - this.recoveredAt, this.rampStepMs);
  }
}
