// The rate estimator of IPVS (ip_vs_est.c; connections.md §13): every 2 s, per counter, an
// exponentially weighted average in fixed point — packets and connections scaled by 1024,
// bytes by 32 — moves a quarter of the way toward the last interval's rate. ipvsadm
// --rate prints the rounded averages. Integer semantics are kept with Math.floor (values
// outgrow 32 bits, so no >>).

/** The counters IPVS keeps per service, per real server and in total. */
export interface Counters {
  conns: number;
  inPkts: number;
  outPkts: number;
  inBytes: number;
  outBytes: number;
}

export interface Rates {
  cps: number;
  inPps: number;
  outPps: number;
  inBps: number;
  outBps: number;
}

export const ZERO_COUNTERS: Readonly<Counters> = { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0 };
export const ESTIMATOR_INTERVAL_MS = 2000;

export class RateEstimator {
  private last: Counters;
  private readonly avg = { cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };

  constructor(start: Counters = ZERO_COUNTERS) {
    this.last = { ...start };
  }

  /** One 2 s tick with the counters now. */
  tick(now: Counters): void {
    const a = this.avg;
    // The rate over the interval, scaled: per second = delta / 2.
    a.cps = step(a.cps, ((now.conns - this.last.conns) * 1024) / 2);
    a.inPps = step(a.inPps, ((now.inPkts - this.last.inPkts) * 1024) / 2);
    a.outPps = step(a.outPps, ((now.outPkts - this.last.outPkts) * 1024) / 2);
    a.inBps = step(a.inBps, ((now.inBytes - this.last.inBytes) * 32) / 2);
    a.outBps = step(a.outBps, ((now.outBytes - this.last.outBytes) * 32) / 2);
    this.last = { ...now };
  }

  rates(): Rates {
    const a = this.avg;
    return {
      cps: Math.floor((a.cps + 511) / 1024),
      inPps: Math.floor((a.inPps + 511) / 1024),
      outPps: Math.floor((a.outPps + 511) / 1024),
      inBps: Math.floor((a.inBps + 15) / 32),
      outBps: Math.floor((a.outBps + 15) / 32),
    };
  }

  /** -Z: rates to 0, and start again from these counters. */
  reset(now: Counters): void {
    this.last = { ...now };
    for (const k of Object.keys(this.avg) as (keyof Rates)[]) this.avg[k] = 0;
  }
}

/** avg += (sample - avg) >> 2, on integers. */
function step(avg: number, sample: number): number {
  return avg + Math.floor((Math.floor(sample) - avg) / 4);
}

export function addCounters(a: Counters, b: Counters): Counters {
  return { conns: a.conns + b.conns, inPkts: a.inPkts + b.inPkts, outPkts: a.outPkts + b.outPkts, inBytes: a.inBytes + b.inBytes, outBytes: a.outBytes + b.outBytes };
}

export function subCounters(a: Counters, b: Counters): Counters {
  return { conns: a.conns - b.conns, inPkts: a.inPkts - b.inPkts, outPkts: a.outPkts - b.outPkts, inBytes: a.inBytes - b.inBytes, outBytes: a.outBytes - b.outBytes };
}
