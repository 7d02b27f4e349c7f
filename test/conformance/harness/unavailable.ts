// Why the kernel oracle cannot run here (no qemu, no image and no package access, a guest
// that did not boot in time), and what the suite does about it: a skip with the reason on a
// developer's machine, a failure in CI (CI set, as .ci/run exports), where it must run.

export class ConformanceUnavailable extends Error {
  readonly code = 'ECONFORMANCE_UNAVAILABLE';
  constructor(reason: string) {
    super(reason);
    this.name = 'ConformanceUnavailable';
  }
}

/** True in CI, where an unavailable oracle is a failure rather than a skip. */
export function mustRun(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false';
}
