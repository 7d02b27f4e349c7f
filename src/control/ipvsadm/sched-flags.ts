// Scheduler flags (-b): ipvsadm's names, the three flag bits they set, which names go with
// which scheduler, and how listings and -S name the bits back (by the service's scheduler:
// sh-fallback/sh-port for sh, mh-* for mh, flag-1..3 otherwise). Reference: ipvsadm.md 3.2
// (-b) and 6.2 (FLAGS); ipvsadm 1.31 parse_sched_flags / print_sched_flags.

const FLAG_1 = 1;
const FLAG_2 = 2;
const FLAG_3 = 4;

const BITS: Record<string, { bit: number; scheduler?: string }> = {
  'flag-1': { bit: FLAG_1 },
  'flag-2': { bit: FLAG_2 },
  'flag-3': { bit: FLAG_3 },
  'sh-fallback': { bit: FLAG_1, scheduler: 'sh' },
  'sh-port': { bit: FLAG_2, scheduler: 'sh' },
  'mh-fallback': { bit: FLAG_1, scheduler: 'mh' },
  'mh-port': { bit: FLAG_2, scheduler: 'mh' },
};

/** -b's comma list against the scheduler given with -s (wlc if none): the bits, or ipvsadm's error. */
export function parseSchedFlags(scheduler: string, list: string): { bits: number } | { error: string } {
  const sched = scheduler === '' ? 'wlc' : scheduler;
  const names = list.split(',').filter((n) => n !== ''); // strtok skips empty fields
  // ipvsadm dereferences a NULL token for a list of nothing but commas (it crashes); say it is invalid.
  if (names.length === 0) return { error: "invalid scheduler flag `'" };
  let bits = 0;
  for (const name of names) {
    const flag = Object.hasOwn(BITS, name) ? BITS[name] : undefined;
    if (!flag) return { error: `invalid scheduler flag \`${name}'` };
    if (flag.scheduler !== undefined && flag.scheduler !== sched) return { error: `incompatible scheduler flag \`${name}'` };
    bits |= flag.bit;
  }
  return { bits };
}

export function bitsOfFlags(names: readonly string[]): number {
  return names.reduce((bits, n) => bits | (Object.hasOwn(BITS, n) ? BITS[n]!.bit : 0), 0);
}

/** The bits as the model keeps them: named for the scheduler (sh/mh names where they exist). */
export function flagNames(scheduler: string, bits: number): string[] {
  const named = scheduler === 'sh' || scheduler === 'mh' ? [`${scheduler}-fallback`, `${scheduler}-port`, 'flag-3'] : ['flag-1', 'flag-2', 'flag-3'];
  return [FLAG_1, FLAG_2, FLAG_3].flatMap((bit, k) => (bits & bit ? [named[k]!] : []));
}

/** What ipvsadm prints for the flags (sh and mh show only their own two; flag-3 then prints nothing). */
export function flagsText(scheduler: string, bits: number): string {
  const names = flagNames(scheduler, bits);
  return (scheduler === 'sh' || scheduler === 'mh' ? names.filter((n) => n !== 'flag-3') : names).join(',');
}
